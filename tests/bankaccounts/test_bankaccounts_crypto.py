"""AES-256-GCM under a key ring: what is encrypted decrypts only with its key and for its row;
a tampered value, another row's value or a missing key is a clear error; keys rotate."""

from __future__ import annotations

import base64
import re

import pytest
from bankaccounts_builders import key_bytes, setting
from hypothesis import given
from hypothesis import strategies as st

from sellerpay.crypto import (
    CiphertextMalformed,
    DecryptionFailed,
    EncryptionError,
    EncryptionKeyMissing,
    KeyRing,
    KeyRingInvalid,
    derive_key,
    key_id_of,
    new_key,
)

ROW = b"bank_account:ba_1"
TOKEN = re.compile(
    r"v1:(?P<kid>[A-Za-z0-9_-]+):(?P<nonce>[A-Za-z0-9+/=]+):(?P<body>[A-Za-z0-9+/=]+)"
)


def ring(*names: str) -> KeyRing:
    return KeyRing.from_setting(setting(*names))


def flip(text: str, index: int) -> str:
    """The base64 `text` with one bit of its decoded byte at `index` flipped."""
    data = bytearray(base64.b64decode(text))
    data[index] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


@given(st.binary(max_size=2000), st.binary(max_size=200))
def test_whatever_is_encrypted_decrypts_back_for_the_same_row(plaintext: bytes, row: bytes) -> None:
    keys = ring("k1")

    token = keys.encrypt(plaintext, associated_data=row)

    assert keys.decrypt(token, associated_data=row) == plaintext


def test_a_ciphertext_names_its_key_and_carries_a_96_bit_nonce_never_reused() -> None:
    keys = ring("k1")

    first = keys.encrypt(b"FR7630006000011234567890189", associated_data=ROW)
    second = keys.encrypt(b"FR7630006000011234567890189", associated_data=ROW)

    match = TOKEN.fullmatch(first)
    assert match is not None and match["kid"] == "k1" and key_id_of(first) == "k1"
    assert len(base64.b64decode(match["nonce"])) == 12
    assert len(base64.b64decode(match["body"])) == len(b"FR7630006000011234567890189") + 16
    assert first != second  # a fresh nonce each time
    assert "FR76" not in first


@pytest.mark.parametrize("part", ["nonce", "body"])
@pytest.mark.parametrize("index", [0, -1])
def test_a_tampered_ciphertext_is_refused(part: str, index: int) -> None:
    keys = ring("k1")
    match = TOKEN.fullmatch(keys.encrypt(b"41926837", associated_data=ROW))
    assert match is not None
    parts = {"kid": match["kid"], "nonce": match["nonce"], "body": match["body"]}
    parts[part] = flip(parts[part], index)
    tampered = f"v1:{parts['kid']}:{parts['nonce']}:{parts['body']}"

    with pytest.raises(DecryptionFailed) as caught:
        keys.decrypt(tampered, associated_data=ROW)
    assert caught.value.code == "decryption_failed"
    assert caught.value.status == 500


def test_a_value_moved_to_another_row_does_not_decrypt() -> None:
    keys = ring("k1")
    token = keys.encrypt(b"41926837", associated_data=b"bank_account:ba_1")

    with pytest.raises(DecryptionFailed):
        keys.decrypt(token, associated_data=b"bank_account:ba_2")


def test_a_value_relabelled_with_another_key_id_does_not_decrypt() -> None:
    keys = ring("k1", "k2")
    token = keys.encrypt(b"41926837", associated_data=ROW)

    with pytest.raises(DecryptionFailed):
        keys.decrypt(token.replace("v1:k1:", "v1:k2:"), associated_data=ROW)


def test_the_same_key_id_with_other_key_bytes_is_a_clear_error() -> None:
    token = ring("k1").encrypt(b"41926837", associated_data=ROW)
    impostor = KeyRing(current_key_id="k1", keys={"k1": key_bytes("other")})

    with pytest.raises(DecryptionFailed, match="key 'k1' does not verify"):
        impostor.decrypt(token, associated_data=ROW)


def test_a_value_under_a_key_that_is_not_configured_names_the_missing_key() -> None:
    token = ring("old").encrypt(b"41926837", associated_data=ROW)

    with pytest.raises(EncryptionKeyMissing, match="'old'") as caught:
        ring("new").decrypt(token, associated_data=ROW)
    assert caught.value.code == "encryption_key_missing"
    assert caught.value.context == {"key_id": "old"}


@pytest.mark.parametrize(
    "token",
    [
        "",
        "41926837",
        "v2:k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==",
        "v1:k1:AAAAAAAAAAAAAAAA",
        "v1:k 1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==",
        "v1:k1:not base64!:AAAAAAAAAAAAAAAAAAAAAA==",
        "v1:k1:AAAA:AAAAAAAAAAAAAAAAAAAAAA==",  # a 3-byte nonce
        "v1:k1:AAAAAAAAAAAAAAAA:AAAA",  # shorter than a tag
    ],
)
def test_text_that_is_not_a_ciphertext_is_refused_as_malformed(token: str) -> None:
    with pytest.raises(CiphertextMalformed):
        ring("k1").decrypt(token, associated_data=ROW)


def test_after_rotation_old_values_still_decrypt_and_new_ones_use_the_new_key() -> None:
    before = ring("k1")
    old = before.encrypt(b"739104628351", associated_data=ROW)
    after = ring("k2", "k1")  # k2 is now current, k1 retired

    new = after.encrypt(b"739104628351", associated_data=ROW)

    assert after.decrypt(old, associated_data=ROW) == b"739104628351"
    assert key_id_of(new) == "k2"
    assert after.is_current(new) and not after.is_current(old)
    assert ring("k2").decrypt(new, associated_data=ROW) == b"739104628351"
    with pytest.raises(EncryptionKeyMissing):
        ring("k2").decrypt(old, associated_data=ROW)


def test_the_setting_lists_keys_by_id_the_first_being_current() -> None:
    keys = KeyRing.from_setting(f" {setting('k2')} , {setting('k1')} ,")

    assert keys.current_key_id == "k2"
    assert dict(keys.keys) == {"k2": key_bytes("k2"), "k1": key_bytes("k1")}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no encryption key"),
        (" , ", "no encryption key"),
        ("k1", "entry 1 is not 'kid:base64key'"),
        (f"{setting('k1')},k2:", "entry 2 is not"),
        ("k1:not-base64!!", "not valid base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "16 bytes; AES-256 needs exactly 32"),
        (f"{setting('k1')},{setting('k1')}", "appears twice"),
        (f"k:1:{base64.b64encode(b'x' * 32).decode()}", "not valid base64"),
        (f"k 1:{base64.b64encode(b'x' * 32).decode()}", "letters, digits"),
    ],
)
def test_a_malformed_setting_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(KeyRingInvalid, match=re.escape(says)) as caught:
        KeyRing.from_setting(text)
    assert caught.value.code == "invalid_encryption_keys"
    assert isinstance(caught.value, EncryptionError)


def test_a_ring_shows_its_key_ids_never_its_keys() -> None:
    keys = ring("k2", "k1")
    encoded = base64.b64encode(key_bytes("k2")).decode()

    assert repr(keys) == "KeyRing(current='k2', key_ids=['k1', 'k2'])"
    assert encoded not in repr(keys) and encoded not in str(keys)


def test_a_ring_needs_its_current_key_and_keys_of_32_bytes() -> None:
    with pytest.raises(KeyRingInvalid, match="current key 'k2' is not in the ring"):
        KeyRing(current_key_id="k2", keys={"k1": key_bytes("k1")})
    with pytest.raises(KeyRingInvalid, match="at least one key"):
        KeyRing(current_key_id="k1", keys={})
    with pytest.raises(KeyRingInvalid):
        KeyRing(current_key_id="k1", keys={"k1": b"short"})


def test_a_retired_key_added_to_a_ring_decrypts_but_does_not_encrypt() -> None:
    old = ring("dev").encrypt(b"8273645", associated_data=ROW)

    keys = ring("k1").with_key("dev", key_bytes("dev"))

    assert keys.current_key_id == "k1"
    assert keys.decrypt(old, associated_data=ROW) == b"8273645"


def test_derived_keys_are_stable_per_purpose_and_differ_between_purposes() -> None:
    secret = new_key()

    assert len(secret) == 32 and secret != new_key()
    assert derive_key(secret, purpose="a") == derive_key(secret, purpose="a")
    assert derive_key(secret, purpose="a") != derive_key(secret, purpose="b")
    assert len(derive_key(secret, purpose="a")) == 32
    with pytest.raises(KeyRingInvalid):
        derive_key(b"too short", purpose="a")
