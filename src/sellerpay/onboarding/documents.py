"""Uploaded proofs: what the bytes really are (sniffed from magic bytes, never from the file name
or a declared type), which file names are acceptable, and content-addressed storage on disk.

Only PDF, JPEG and PNG are accepted. Archives of any kind (zip, gzip, 7z, rar…), including a
PDF or image with a zip appended (a polyglot), are refused: a zip bomb never reaches a reviewer.
Images whose declared dimensions would decompress into more than `image_pixels_max` pixels
(decompression bombs) are refused too. Files are stored under `<documents directory>/ab/<sha256>`
(`ab` the first two hex digits): the name is the hash of the bytes, never the uploaded name.

Errors: `UnsupportedDocumentType` (415: not PDF/JPEG/PNG; an executable; an archive),
`LimitExceeded` (413 `document_size_max`), `InvalidInput` (`invalid_file_name`,
`empty_document`, `corrupt_document`, `image_too_large`).
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from sellerpay.errors import InvalidInput, LimitExceeded, invariant

__all__ = [
    "DocumentStore",
    "MediaType",
    "SniffedDocument",
    "UnsupportedDocumentType",
    "check_file_name",
    "sniff",
]

file_name_length_max: Final = 255
image_pixels_max: Final = 100_000_000  # 100 megapixels: any real scan is far below
zip_tail_bytes: Final = 65_557  # a zip's end record is within the last 64 KiB + 22 bytes
_STORAGE_KEY: Final = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}")


class MediaType(StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


class UnsupportedDocumentType(InvalidInput):
    """The bytes are not a PDF, JPEG or PNG document (415)."""

    status = 415
    default_code = "unsupported_media_type"
    title = "Unsupported media type"


# (signature, offset, what it is) of formats refused outright, checked before anything else.
_ARCHIVES: Final = (
    (b"PK\x03\x04", 0, "zip"),
    (b"PK\x05\x06", 0, "zip"),
    (b"PK\x07\x08", 0, "zip"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"BZh", 0, "bzip2"),
    (b"\xfd7zXZ\x00", 0, "xz"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7z"),
    (b"Rar!\x1a\x07", 0, "rar"),
    (b"\x28\xb5\x2f\xfd", 0, "zstd"),
    (b"MSCF", 0, "cab"),
    (b"ustar", 257, "tar"),
)
_EXECUTABLES: Final = (
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"#!", "a script"),
)
_PNG: Final = b"\x89PNG\r\n\x1a\n"
_JPEG: Final = b"\xff\xd8\xff"
_PDF: Final = b"%PDF-"


@dataclass(frozen=True, slots=True)
class SniffedDocument:
    media_type: MediaType
    sha256: str
    size_bytes: int


def sniff(content: bytes, *, bytes_max: int) -> SniffedDocument:
    """What `content` is, from its bytes alone, or the error that refuses it."""
    if len(content) > bytes_max:
        raise LimitExceeded(
            f"a document is at most {bytes_max} bytes", code="document_size_max", limit=bytes_max
        )
    if not content:
        raise InvalidInput("the document is empty", code="empty_document", field="body.file")
    _refuse_archives(content)
    media_type = _media_type(content)
    if media_type is MediaType.PNG:
        _check_png(content)
    elif media_type is MediaType.JPEG:
        _check_jpeg(content)
    return SniffedDocument(media_type, hashlib.sha256(content).hexdigest(), len(content))


def _refuse_archives(content: bytes) -> None:
    for signature, offset, kind in _ARCHIVES:
        if content[offset : offset + len(signature)] == signature:
            raise UnsupportedDocumentType(
                f"archives are refused: this is a {kind} file",
                code="archive_refused",
                field="body.file",
                detected=kind,
            )
    if b"PK\x05\x06" in content[-zip_tail_bytes:]:
        raise UnsupportedDocumentType(
            "archives are refused: this file ends with a zip archive",
            code="archive_refused",
            field="body.file",
            detected="zip",
        )


def _media_type(content: bytes) -> MediaType:
    if content.startswith(_PDF):
        return MediaType.PDF
    if content.startswith(_JPEG):
        return MediaType.JPEG
    if content.startswith(_PNG):
        return MediaType.PNG
    what = next((name for magic, name in _EXECUTABLES if content.startswith(magic)), None)
    raise UnsupportedDocumentType(
        f"only PDF, JPEG and PNG documents are accepted; this is {what or 'something else'}",
        field="body.file",
        detected=what or "unknown",
    )


def _corrupt(what: str) -> InvalidInput:
    return InvalidInput(
        f"the document is corrupt: {what}", code="corrupt_document", field="body.file"
    )


def _check_pixels(width: int, height: int) -> None:
    if width == 0 or height == 0:
        raise _corrupt("an image without pixels")
    if width * height > image_pixels_max:
        raise InvalidInput(
            f"the image is {width} x {height} pixels, more than {image_pixels_max}",
            code="image_too_large",
            field="body.file",
        )


def _check_png(content: bytes) -> None:
    """The first chunk of a PNG is IHDR with its width and height."""
    if len(content) < 24 or content[12:16] != b"IHDR":
        raise _corrupt("a PNG without its header chunk")
    width, height = struct.unpack(">II", content[16:24])
    _check_pixels(width, height)


_SOF_MARKERS: Final = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
)


def _check_jpeg(content: bytes) -> None:
    """Walk the JPEG's segments to its frame header (SOFn) and read the dimensions."""
    position = 2
    while position + 4 <= len(content):
        if content[position] != 0xFF:
            raise _corrupt("a JPEG segment without its marker")
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            position += 2
            continue
        (length,) = struct.unpack(">H", content[position + 2 : position + 4])
        if marker in _SOF_MARKERS:
            if position + 9 > len(content):
                break
            height, width = struct.unpack(">HH", content[position + 5 : position + 9])
            _check_pixels(width, height)
            return
        if marker == 0xDA or length < 2:  # image data before any frame header
            break
        position += 2 + length
    raise _corrupt("a JPEG without a frame header")


_BAD_NAME_CHARACTERS: Final = re.compile(r"[/\\:\x00-\x1f\x7f*?\"<>|]")


def check_file_name(name: str) -> str:
    """The uploaded file name, kept for the reviewer's eyes only (never for a path): refused if
    it could mean a path (separators, `..`, drive letters), hides characters, or is too long."""
    text = unicodedata.normalize("NFC", name)
    bad = (
        not text.strip()
        or len(text) > file_name_length_max
        or _BAD_NAME_CHARACTERS.search(text) is not None
        or text.startswith(".")
        or ".." in text
        or any(unicodedata.category(ch) in ("Cf", "Co", "Cs") for ch in text)
    )
    if bad:
        raise InvalidInput(
            f"{name[:80]!r} is not an acceptable file name: no path, no hidden or control "
            f"characters, at most {file_name_length_max} characters",
            code="invalid_file_name",
            field="body.file",
        )
    return text


class DocumentStore:
    """Documents on disk, content-addressed: a document's storage key is `ab/<sha256>`. Writing
    the same bytes twice stores them once; reading checks the hash again."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, storage_key: str) -> Path:
        invariant(_STORAGE_KEY.fullmatch(storage_key) is not None, f"bad key {storage_key!r}")
        return self.root / storage_key

    @staticmethod
    def key_of(sha256: str) -> str:
        return f"{sha256[:2]}/{sha256}"

    def put(self, content: bytes) -> str:
        """Store `content` (atomically: a temporary file renamed into place) and return its key."""
        sha256 = hashlib.sha256(content).hexdigest()
        key = self.key_of(sha256)
        path = self._path(key)
        if path.is_file() and path.stat().st_size == len(content):
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def read(self, storage_key: str) -> bytes:
        """The stored bytes; `InvariantViolation` if they no longer hash to their key."""
        content = self._path(storage_key).read_bytes()
        invariant(
            hashlib.sha256(content).hexdigest() == storage_key[3:],
            f"stored document {storage_key} does not match its hash",
        )
        return content

    def delete(self, storage_key: str) -> bool:
        """Remove the stored bytes (retention ended); False if they were already gone."""
        path = self._path(storage_key)
        if not path.exists():
            return False
        path.unlink()
        return True
