"""Document uploads: what is accepted (PDF, JPEG, PNG by their bytes, whatever their name) and
every bad input refused with its problem and nothing stored: too large, wrong type, an
executable named .pdf, archives and zip bombs, image bombs, path tricks in file names."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from onboarding_builders import (
    PDF,
    idempotency,
    jpeg,
    pdf,
    pdf_with_zip_appended,
    png,
    windows_executable,
    zip_bomb,
)

from http_support import Keys, assert_problem
from sellerpay.clock import FixedClock
from sellerpay.db import Database
from sellerpay.errors import InvalidInput, LimitExceeded
from sellerpay.onboarding.documents import (
    DocumentStore,
    MediaType,
    UnsupportedDocumentType,
    check_file_name,
    sniff,
)
from sellerpay.onboarding.service import get_onboarding

MiB = 1024 * 1024


def upload(
    client: TestClient,
    keys: Keys,
    seller_id: str,
    content: bytes,
    *,
    name: str = "passport.pdf",
    declared: str = "application/pdf",
    kind: str = "proof_of_identity",
    who: str = "seller",
    key: str | None = None,
    **fields: str,
) -> Any:
    return client.post(
        f"/v1/sellers/{seller_id}/documents",
        files={"file": (name, content, declared)},
        data={"kind": kind, **fields},
        headers={**keys.of(who), **idempotency(key)},
    )


def stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


# --- sniffing, without HTTP ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "media_type"),
    [(PDF, MediaType.PDF), (png(), MediaType.PNG), (jpeg(), MediaType.JPEG)],
)
def test_pdf_png_and_jpeg_are_recognised_from_their_bytes(
    content: bytes, media_type: MediaType
) -> None:
    sniffed = sniff(content, bytes_max=MiB)

    assert sniffed.media_type is media_type
    assert sniffed.sha256 == hashlib.sha256(content).hexdigest()
    assert sniffed.size_bytes == len(content)


@pytest.mark.parametrize(
    ("content", "code", "detected"),
    [
        (windows_executable(), "unsupported_media_type", "a Windows executable"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "unsupported_media_type", "an ELF executable"),
        (b"#!/bin/sh\nrm -rf /\n", "unsupported_media_type", "a script"),
        (b"<html><body>passport</body></html>", "unsupported_media_type", "unknown"),
        (b"PK\x03\x04" + b"\x00" * 40, "archive_refused", "zip"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "archive_refused", "gzip"),
        (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40, "archive_refused", "7z"),
        (b"Rar!\x1a\x07\x00" + b"\x00" * 40, "archive_refused", "rar"),
        (b"\x00" * 257 + b"ustar\x0000" + b"\x00" * 100, "archive_refused", "tar"),
        (pdf_with_zip_appended(), "archive_refused", "zip"),
    ],
)
def test_executables_archives_and_polyglots_are_refused_as_unsupported(
    content: bytes, code: str, detected: str
) -> None:
    with pytest.raises(UnsupportedDocumentType) as refused:
        sniff(content, bytes_max=MiB)

    assert refused.value.code == code and refused.value.status == 415
    assert refused.value.context["detected"] == detected


def test_a_zip_bomb_is_refused_without_being_inflated() -> None:
    bomb = zip_bomb()
    assert len(bomb) < MiB  # 50 MiB of zeros in well under a megabyte

    with pytest.raises(UnsupportedDocumentType) as refused:
        sniff(bomb, bytes_max=10 * MiB)

    assert refused.value.code == "archive_refused"


@pytest.mark.parametrize("content", [png(200_000, 200_000), jpeg(60_000, 60_000)])
def test_images_declaring_more_pixels_than_any_scan_are_refused(content: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        sniff(content, bytes_max=MiB)

    assert refused.value.code == "image_too_large"


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 4],
)
def test_images_without_their_headers_are_corrupt(content: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        sniff(content, bytes_max=MiB)

    assert refused.value.code == "corrupt_document"


def test_size_is_checked_before_anything_else() -> None:
    with pytest.raises(LimitExceeded) as refused:
        sniff(PDF + b"\x00" * 100, bytes_max=len(PDF))

    assert refused.value.code == "document_size_max" and refused.value.status == 413


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "..\\..\\windows\\system32",
        "/etc/passwd",
        "C:\\evil.pdf",
        "scan..pdf",
        ".htaccess",
        "a/b.pdf",
        "id\x00.pdf",
        "id\u202egpj.exe",
        "x" * 256,
        "   ",
    ],
)
def test_file_names_that_could_be_paths_or_hide_characters_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_file_name(name)

    assert refused.value.code == "invalid_file_name"


@pytest.mark.parametrize("name", ["passport.pdf", "Carte d'identité (recto).jpg", "登記簿.pdf"])
def test_ordinary_file_names_are_kept_for_the_reviewer(name: str) -> None:
    assert check_file_name(name) == name


def test_the_store_names_files_by_their_hash_and_keeps_one_copy(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path)

    first = store.put(PDF)
    second = store.put(PDF)

    digest = hashlib.sha256(PDF).hexdigest()
    assert first == second == f"{digest[:2]}/{digest}"
    assert stored_files(tmp_path) == [tmp_path / digest[:2] / digest]
    assert store.read(first) == PDF


# --- uploads over HTTP -----------------------------------------------------------------------


def test_a_pdf_is_stored_under_its_hash_pending_review(
    client: TestClient, keys: Keys, seller: str, documents_directory: Path
) -> None:
    content = pdf("accepted")

    response = upload(client, keys, seller, content, name="passport.pdf")

    assert response.status_code == 201, response.text
    body = response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert body["sha256"] == digest and body["size_bytes"] == len(content)
    assert (body["media_type"], body["status"], body["kind"]) == (
        "application/pdf",
        "pending",
        "proof_of_identity",
    )
    assert body["file_name"] == "passport.pdf" and body["reviewed_by"] is None
    assert stored_files(documents_directory) == [documents_directory / digest[:2] / digest]
    assert (documents_directory / digest[:2] / digest).read_bytes() == content


def test_a_pdf_named_exe_is_fine_because_its_bytes_are_a_pdf(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = upload(
        client, keys, seller, pdf("exe name"), name="scan.exe", declared="application/x-msdownload"
    )

    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "application/pdf"


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (windows_executable(), "passport.pdf", "unsupported_media_type"),
        (zip_bomb(), "passport.pdf", "archive_refused"),
        (pdf_with_zip_appended(), "passport.pdf", "archive_refused"),
        (b"GIF89a" + b"\x00" * 20, "photo.gif", "unsupported_media_type"),
    ],
)
def test_an_executable_or_archive_named_pdf_is_refused_and_nothing_is_stored(
    client: TestClient,
    keys: Keys,
    seller: str,
    documents_directory: Path,
    db: Database,
    clock: FixedClock,
    content: bytes,
    name: str,
    code: str,
) -> None:
    response = upload(client, keys, seller, content, name=name)

    assert_problem(response, 415, code, field="body.file")
    assert stored_files(documents_directory) == []
    assert get_onboarding(db, seller, now=clock.now()).documents == ()


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "..\\..\\boot.ini", "/etc/shadow", "C:\\evil.pdf"]
)
def test_path_tricks_in_file_names_are_refused_and_nothing_is_written(
    client: TestClient, keys: Keys, seller: str, documents_directory: Path, name: str
) -> None:
    response = upload(client, keys, seller, pdf("path trick"), name=name)

    assert_problem(response, 422, "invalid_file_name", field="body.file")
    assert stored_files(documents_directory) == []


def test_a_document_larger_than_the_limit_is_refused_with_413(
    client: TestClient, keys: Keys, seller: str, documents_directory: Path
) -> None:
    too_large = PDF + b"\x00" * (10 * MiB + 1 - len(PDF))

    response = upload(client, keys, seller, too_large)

    body = assert_problem(response, 413, "document_size_max")
    assert body["limit"] == 10 * MiB
    assert stored_files(documents_directory) == []


def test_a_document_of_exactly_the_limit_is_accepted(
    client: TestClient, keys: Keys, seller: str
) -> None:
    at_limit = PDF + b"\x00" * (10 * MiB - len(PDF))

    response = upload(client, keys, seller, at_limit)

    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == 10 * MiB


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"", 422, "empty_document"),
        (png(200_000, 200_000), 422, "image_too_large"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 4, 422, "corrupt_document"),
    ],
)
def test_empty_corrupt_and_bomb_images_are_refused(
    client: TestClient, keys: Keys, seller: str, content: bytes, status: int, code: str
) -> None:
    response = upload(client, keys, seller, content, name="photo.png", declared="image/png")

    assert_problem(response, status, code)


def test_an_upload_that_is_not_multipart_is_refused(
    client: TestClient, keys: Keys, seller: str
) -> None:
    response = client.post(
        f"/v1/sellers/{seller}/documents",
        content=PDF,
        headers={**keys.of("seller"), **idempotency(), "Content-Type": "application/pdf"},
    )

    assert_problem(response, 415, "multipart_required")


def test_an_upload_without_a_file_or_with_an_unknown_kind_names_the_field(
    client: TestClient, keys: Keys, seller: str
) -> None:
    no_file = client.post(
        f"/v1/sellers/{seller}/documents",
        data={"kind": "proof_of_identity"},
        files={"other": ("x.txt", b"x", "text/plain")},
        headers={**keys.of("seller"), **idempotency()},
    )
    bad_kind = upload(client, keys, seller, pdf("kind"), kind="selfie")

    assert_problem(no_file, 422, "invalid_multipart")
    assert_problem(bad_kind, 422, "invalid_document_kind", field="body.kind")


def test_a_proof_for_a_person_of_another_seller_is_refused(
    client: TestClient, keys: Keys, seller: str, other_seller_id: str
) -> None:
    theirs = client.post(
        f"/v1/sellers/{other_seller_id}/persons",
        json={
            "first_name": "Léa",
            "last_name": "Durand",
            "date_of_birth": "1985-01-01",
            "representative": True,
        },
        headers={**keys.of("other_seller"), **idempotency()},
    )
    assert theirs.status_code == 201, theirs.text

    response = upload(client, keys, seller, pdf("theirs"), person_id=theirs.json()["id"])

    assert_problem(response, 404, "person_not_found", field="body.person_id")


def test_the_same_upload_retried_with_its_key_is_stored_once(
    client: TestClient, keys: Keys, seller: str, db: Database, clock: FixedClock
) -> None:
    content = pdf("retried")

    first = upload(client, keys, seller, content, key="upload-1")
    again = upload(client, keys, seller, content, key="upload-1")
    other = upload(client, keys, seller, pdf("another"), key="upload-1")

    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert_problem(other, 409, "idempotency_key_reused")
    assert len(get_onboarding(db, seller, now=clock.now()).documents) == 1


def test_a_reviewer_downloads_the_bytes_under_the_documents_id_never_its_name(
    client: TestClient, keys: Keys, seller: str
) -> None:
    content = png(4, 4)
    created = upload(client, keys, seller, content, name="selfie.png", declared="text/html")
    document_id = created.json()["id"]

    download = client.get(
        f"/v1/compliance/documents/{document_id}/content", headers=keys.of("compliance")
    )
    by_seller = client.get(
        f"/v1/compliance/documents/{document_id}/content", headers=keys.of("seller")
    )

    assert download.status_code == 200 and download.content == content
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == f'attachment; filename="{document_id}"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert_problem(by_seller, 403, "permission_required")
