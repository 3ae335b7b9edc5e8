"""Which key ring encrypts bank account numbers: the configured keys; with SQLite and no keys,
a development key from a private file next to the database, with a warning; with PostgreSQL
and no keys, a clear refusal."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from bankaccounts_builders import key_bytes, setting
from pydantic import SecretStr
from structlog.testing import capture_logs

from database_support import POSTGRES_URL
from sellerpay.bankaccounts import service
from sellerpay.crypto import EncryptionKeyMissing, KeyRingInvalid
from sellerpay.db import Database
from sellerpay.settings import Settings

ROW = b"bank_account:ba_1"


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    """Each test reads key files as a new process would."""
    service._dev_key.cache_clear()
    service._warn_development_key.cache_clear()
    yield
    service._dev_key.cache_clear()
    service._warn_development_key.cache_clear()


def sqlite_database(directory: Path) -> Database:
    return Database(f"sqlite:///{directory / 'sellerpay.db'}")


def no_keys() -> Settings:
    return Settings(encryption_keys=SecretStr(""))


def test_without_keys_sqlite_makes_a_private_development_key_next_to_the_database(
    tmp_path: Path,
) -> None:
    db = sqlite_database(tmp_path)

    with capture_logs() as logs:
        keyring = service.configured_keyring(db, no_keys())

    key_file = tmp_path / ".sellerpay-dev-key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert keyring.current_key_id == "dev"
    warnings = [entry for entry in logs if entry["event"] == "bank_accounts.development_key"]
    assert [entry["log_level"] for entry in warnings] == ["warning"]
    assert "SELLERPAY_ENCRYPTION_KEYS" in warnings[0]["advice"]
    with capture_logs() as later:
        service.configured_keyring(db, no_keys())
    assert later == []  # warned once per process, not on every request


def test_the_development_key_is_the_same_for_every_process_using_that_database(
    tmp_path: Path,
) -> None:
    token = service.configured_keyring(sqlite_database(tmp_path), no_keys()).encrypt(
        b"41926837", associated_data=ROW
    )
    service._dev_key.cache_clear()  # another process

    again = service.configured_keyring(sqlite_database(tmp_path), no_keys())

    assert again.decrypt(token, associated_data=ROW) == b"41926837"
    other_folder = tmp_path / "elsewhere"
    other_folder.mkdir()
    assert service.configured_keyring(sqlite_database(other_folder), no_keys()).keys != again.keys


def test_configured_keys_encrypt_and_the_development_key_stays_readable_for_rotation(
    tmp_path: Path,
) -> None:
    db = sqlite_database(tmp_path)
    old = service.configured_keyring(db, no_keys()).encrypt(b"8273645", associated_data=ROW)

    keyring = service.configured_keyring(db, Settings(encryption_keys=SecretStr(setting("prod1"))))

    assert keyring.current_key_id == "prod1"
    assert keyring.keys["prod1"] == key_bytes("prod1")
    assert keyring.decrypt(old, associated_data=ROW) == b"8273645"


def test_configured_keys_without_a_development_key_file_are_used_alone(tmp_path: Path) -> None:
    keyring = service.configured_keyring(
        sqlite_database(tmp_path), Settings(encryption_keys=SecretStr(setting("k2", "k1")))
    )

    assert (keyring.current_key_id, sorted(keyring.keys)) == ("k2", ["k1", "k2"])
    assert not (tmp_path / ".sellerpay-dev-key").exists()


def test_postgresql_without_keys_is_refused_saying_what_to_set() -> None:
    db = Database(POSTGRES_URL)  # the key ring is chosen without connecting

    with pytest.raises(EncryptionKeyMissing, match="SELLERPAY_ENCRYPTION_KEYS") as caught:
        service.configured_keyring(db, no_keys())
    assert caught.value.code == "encryption_keys_required"


def test_a_damaged_development_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".sellerpay-dev-key").write_text("not a key!\n")

    with pytest.raises(KeyRingInvalid, match="not a development key file"):
        service.configured_keyring(sqlite_database(tmp_path), no_keys())


def test_a_malformed_key_setting_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyRingInvalid, match="not 'kid:base64key'"):
        service.configured_keyring(
            sqlite_database(tmp_path), Settings(encryption_keys=SecretStr("oops"))
        )


def test_the_key_setting_is_secret_in_the_settings_repr() -> None:
    settings = Settings(encryption_keys=SecretStr(setting("k1")))

    assert setting("k1").split(":")[1] not in repr(settings)
