"""Encryption of secrets at rest: AES-256-GCM under a ring of keys, one of them current.

Pure and settings-free: callers pass the `KeyRing` in (built from `SELLERPAY_ENCRYPTION_KEYS`
by whoever reads the settings). A value is stored as the text

    v1:<key id>:<base64 nonce>:<base64 ciphertext and tag>

with a random 96-bit nonce per value and *associated data* naming the row the value belongs to
(e.g. `bank_account:ba_…`): the tag only verifies for that row, so a ciphertext copied into
another row does not decrypt. The key id says which key of the ring opens it, so keys rotate:
new values are encrypted under the current key while older keys still decrypt, until every
value has been re-encrypted. Nothing here logs, and no error message carries plaintext or key
bytes.

    EncryptionError            500  something about keys or ciphertexts is wrong (a setup bug)
    ├── KeyRingInvalid               the key setting is malformed
    ├── EncryptionKeyMissing         a ciphertext names a key id the ring does not hold
    ├── CiphertextMalformed          the stored text is not `v1:<key id>:<nonce>:<ciphertext>`
    └── DecryptionFailed             the tag does not verify: other key bytes, a tampered
                                     ciphertext, or a value moved to another row
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sellerpay.errors import SellerpayError

__all__ = [
    "CiphertextMalformed",
    "DecryptionFailed",
    "EncryptionError",
    "EncryptionKeyMissing",
    "KeyRing",
    "KeyRingInvalid",
    "derive_key",
    "key_id_of",
    "new_key",
]

FORMAT_VERSION: Final = "v1"
key_bytes: Final = 32  # AES-256
nonce_bytes: Final = 12  # 96 bits, the size GCM is specified for
keys_max: Final = 32
KEY_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")


class EncryptionError(SellerpayError):
    """Keys or ciphertexts are wrong: a configuration or storage problem, never the caller's."""

    status = 500
    default_code = "encryption_error"
    title = "Encryption error"


class KeyRingInvalid(EncryptionError):
    """The key setting (`kid1:base64key,kid2:…`) is malformed; names the entry at fault."""

    default_code = "invalid_encryption_keys"


class EncryptionKeyMissing(EncryptionError):
    """A ciphertext was written under a key id that the ring does not hold (any more)."""

    default_code = "encryption_key_missing"


class CiphertextMalformed(EncryptionError):
    """The stored text is not a ciphertext of this module."""

    default_code = "ciphertext_malformed"


class DecryptionFailed(EncryptionError):
    """The authentication tag did not verify: wrong key bytes under that id, a tampered value,
    or a value moved to a row other than the one it was encrypted for."""

    default_code = "decryption_failed"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _check_key(key_id: str, key: bytes) -> None:
    if KEY_ID.fullmatch(key_id) is None:
        raise KeyRingInvalid(
            f"key id {key_id[:40]!r} must be 1 to 32 letters, digits, '_' or '-'",
            key_id=key_id[:40],
        )
    if len(key) != key_bytes:
        raise KeyRingInvalid(
            f"key {key_id!r} is {len(key)} bytes; AES-256 needs exactly {key_bytes}",
            key_id=key_id,
        )


def _associated(key_id: str, associated_data: bytes) -> bytes:
    """What the tag authenticates besides the ciphertext: the format, the key id and the row."""
    return f"{FORMAT_VERSION}:{key_id}:".encode() + associated_data


@dataclass(frozen=True, slots=True, repr=False)
class KeyRing:
    """Encryption keys by id; `current_key_id` encrypts, every key decrypts what it encrypted.

    Build one with `KeyRing.from_setting("k2:base64…,k1:base64…")` (the first is current).
    Its `repr` names the key ids only.
    """

    current_key_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingInvalid("a key ring needs at least one key")
        if len(self.keys) > keys_max:
            raise KeyRingInvalid(f"a key ring holds at most {keys_max} keys")
        for key_id, key in self.keys.items():
            _check_key(key_id, key)
        if self.current_key_id not in self.keys:
            raise KeyRingInvalid(f"the current key {self.current_key_id!r} is not in the ring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current_key_id!r}, key_ids={sorted(self.keys)!r})"

    @classmethod
    def from_setting(cls, text: str) -> KeyRing:
        """Parse `kid1:base64key,kid2:base64key`: comma-separated, the first is current.

        Keys are standard base64 of 32 random bytes; spaces around entries are ignored.
        """
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        if not entries:
            raise KeyRingInvalid("no encryption key given: expected 'kid:base64key[,kid:…]'")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(entries, start=1):
            key_id, separator, encoded = entry.partition(":")
            if not separator or not key_id or not encoded:
                raise KeyRingInvalid(
                    f"entry {position} is not 'kid:base64key'", entry_number=position
                )
            if key_id in keys:
                raise KeyRingInvalid(f"key id {key_id!r} appears twice", key_id=key_id[:40])
            try:
                keys[key_id] = _unb64(encoded.strip())
            except (binascii.Error, ValueError):
                raise KeyRingInvalid(
                    f"key {key_id[:40]!r} (entry {position}) is not valid base64",
                    key_id=key_id[:40],
                ) from None
        return cls(current_key_id=entries[0].partition(":")[0], keys=keys)

    def with_key(self, key_id: str, key: bytes) -> KeyRing:
        """This ring plus a retired key that decrypts but never encrypts (the current key
        stays current)."""
        return KeyRing(current_key_id=self.current_key_id, keys={**self.keys, key_id: key})

    def encrypt(self, plaintext: bytes, *, associated_data: bytes) -> str:
        """Encrypt under the current key, bound to `associated_data` (the row it belongs to)."""
        key_id = self.current_key_id
        nonce = os.urandom(nonce_bytes)  # random: never the same nonce twice under one key
        sealed = AESGCM(self.keys[key_id]).encrypt(
            nonce, plaintext, _associated(key_id, associated_data)
        )
        return f"{FORMAT_VERSION}:{key_id}:{_b64(nonce)}:{_b64(sealed)}"

    def decrypt(self, token: str, *, associated_data: bytes) -> bytes:
        """The plaintext of `token`, if it was encrypted for `associated_data` by a key of the
        ring; `EncryptionKeyMissing`, `CiphertextMalformed` or `DecryptionFailed` otherwise."""
        key_id, nonce, sealed = _parts(token)
        key = self.keys.get(key_id)
        if key is None:
            raise EncryptionKeyMissing(
                f"this value was encrypted under key {key_id!r}, which is not configured: "
                "add it to the key ring (as a retired key) to read it",
                key_id=key_id,
            )
        try:
            return AESGCM(key).decrypt(nonce, sealed, _associated(key_id, associated_data))
        except InvalidTag:
            raise DecryptionFailed(
                f"the value under key {key_id!r} does not verify: the key bytes differ from "
                "those that encrypted it, or the value was altered or moved from another row",
                key_id=key_id,
            ) from None

    def is_current(self, token: str) -> bool:
        """Whether `token` is already under the current key (nothing to rotate)."""
        return key_id_of(token) == self.current_key_id


def key_id_of(token: str) -> str:
    """The id of the key that encrypted `token`."""
    return _parts(token)[0]


def _parts(token: str) -> tuple[str, bytes, bytes]:
    pieces = token.split(":")
    if len(pieces) != 4 or pieces[0] != FORMAT_VERSION or KEY_ID.fullmatch(pieces[1]) is None:
        raise CiphertextMalformed(
            f"not a {FORMAT_VERSION} ciphertext: expected '{FORMAT_VERSION}:<key id>:<nonce>:"
            "<ciphertext>'"
        )
    try:
        nonce, sealed = _unb64(pieces[2]), _unb64(pieces[3])
    except (binascii.Error, ValueError):
        raise CiphertextMalformed("the ciphertext's nonce or body is not base64") from None
    if len(nonce) != nonce_bytes or len(sealed) < 16:  # a GCM tag alone is 16 bytes
        raise CiphertextMalformed("the ciphertext's nonce or tag has the wrong size")
    return pieces[1], nonce, sealed


def derive_key(secret: bytes, *, purpose: str) -> bytes:
    """A 32-byte key for `purpose` from a high-entropy secret (HKDF-SHA256), so that one secret
    (e.g. the development key file) can key several uses without reusing key bytes."""
    if len(secret) < key_bytes:
        raise KeyRingInvalid(f"a secret to derive keys from needs at least {key_bytes} bytes")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=key_bytes, salt=None, info=purpose.encode())
    return hkdf.derive(secret)


def new_key() -> bytes:
    """32 random bytes for a new key (its base64 goes into the setting)."""
    return os.urandom(key_bytes)
