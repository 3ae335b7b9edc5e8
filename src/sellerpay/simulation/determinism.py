"""Ids a simulation can replay: while a run lasts, every UUIDv7 Sellerpay makes (row ids,
payout ids and so end-to-end ids, bank message ids, ledger transaction ids) comes from the
run's clock and seed instead of the wall clock and `os.urandom`.

Why: the simulated bank decides each transfer's fate by dice keyed on what the file carries
(the end-to-end id), and payout files are ordered by payout id; with wall-clock ids two runs of
one seed would diverge at the first payout. The ids keep their shape (UUIDv7: 48-bit
milliseconds of the simulated time, a counter, 62 seeded bits), so they still sort by
creation time.

`sellerpay.ids` offers no seam for this, so `seeded_ids` swaps the function in that module and
in every module that imported it by name, and puts the originals back when the run ends.
"""

from __future__ import annotations

import random
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sellerpay import ids
from sellerpay.clock import Clock

__all__ = ["SeededIds", "seeded_ids"]


class SeededIds:
    """UUIDv7 from a clock and a seed: the same calls at the same times give the same ids."""

    def __init__(self, clock: Clock, seed: int) -> None:
        self._clock = clock
        self._random = random.Random(f"sellerpay-ids:{seed}")
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def __call__(self) -> uuid.UUID:
        with self._lock:
            now_ms = int(self._clock.now().timestamp() * 1000)
            if now_ms <= self._last_ms:
                self._sequence += 1
                if self._sequence > 0xFFF:  # the counter is full: borrow the next millisecond
                    self._last_ms += 1
                    self._sequence = 0
                now_ms = self._last_ms
            else:
                self._last_ms, self._sequence = now_ms, 0
            bits = self._random.getrandbits(62)
            value = (now_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | self._sequence << 64 | 0b10 << 62
            return uuid.UUID(int=value | bits)


@contextmanager
def seeded_ids(clock: Clock, seed: int) -> Iterator[SeededIds]:
    """Make every `uuid7()` of Sellerpay a `SeededIds` draw until the block ends."""
    original: Callable[[], uuid.UUID] = ids.uuid7
    source = SeededIds(clock, seed)
    patched = _swap(original, source)
    try:
        yield source
    finally:
        _swap(source, original)
        del patched


def _swap(old: Callable[[], uuid.UUID], new: Callable[[], uuid.UUID]) -> list[str]:
    """Rebind `uuid7` wherever a Sellerpay module holds `old`; returns the modules touched."""
    touched = []
    for name, module in list(sys.modules.items()):
        if (name == "sellerpay" or name.startswith("sellerpay.")) and getattr(
            module, "uuid7", None
        ) is old:
            module.uuid7 = new  # type: ignore[attr-defined]
            touched.append(name)
    return touched
