"""Identifiers: UUIDv7 (time-ordered, RFC 9562) for rows, and prefixed readable ids (`sel_…`)."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter and 62 random bits.

    The counter keeps ids from one process strictly increasing within a millisecond
    (RFC 9562 §6.2, method 1), so they index well and sort by creation time.
    """
    global _last_ms, _seq
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            _seq += 1
            if _seq > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _seq = 0
            now_ms = _last_ms
        else:
            _last_ms = now_ms
            _seq = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (now_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)


def prefixed_id(prefix: str) -> str:
    """A readable id such as `sel_0190f7c3a1b27c4e…`: a prefix and a UUIDv7 in hex."""
    return f"{prefix}_{uuid7().hex}"
