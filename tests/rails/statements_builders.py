"""Shared by the statement tests: where the real bank files are, their golden files, and
statements built for tests.

The real files live in /work/shared/testdata/bank-files (third-party samples, never copied into
the repository). Tests that need them skip, loudly, only when that folder is absent.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

BANK_FILES = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "bank-files"
GOLDEN_SUFFIXES = (".pydata", ".yml", ".json")


def bank_files_folder() -> Path:
    """The bank-files folder, or a skip that says why the real-file tests did not run."""
    if not BANK_FILES.is_dir():
        pytest.skip(
            f"REAL BANK FILES ABSENT: {BANK_FILES.resolve()} is missing, so the golden and fuzz "
            "tests on real statements did not run",
            allow_module_level=True,
        )
    return BANK_FILES


def statement_files(*folders: str) -> list[Path]:
    """Every statement file (not its golden) in the given sub-folders, sorted by name."""
    root = bank_files_folder()
    return sorted(
        path
        for folder in folders
        for path in (root / folder).iterdir()
        if path.is_file() and not path.name.endswith(GOLDEN_SUFFIXES)
    )


def load_pydata(path: Path) -> Any:
    """An OCA golden: a Python literal (currency, account, statements with transactions)."""
    return ast.literal_eval(path.read_text(encoding="utf-8"))


class GoldenLoader(yaml.SafeLoader):
    """Reads the mt940 library's YAML dumps without running any Python.

    `!!python/object/apply:decimal.Decimal` becomes a Decimal, `mt940.models.Date` (pickled
    as 4 bytes: year high, year low, month, day) a date; every other python object becomes the
    plain dict of its state, and names, regular expressions and the like become None.
    """


def _python_tag(loader: GoldenLoader, suffix: str, node: yaml.Node) -> Any:
    if suffix == "object/apply:decimal.Decimal":
        assert isinstance(node, yaml.SequenceNode)
        return Decimal(str(loader.construct_sequence(node)[0]))
    if suffix == "object/apply:mt940.models.Date":
        assert isinstance(node, yaml.SequenceNode)
        packed = loader.construct_sequence(node, deep=True)[0]
        return date(packed[0] * 256 + packed[1], packed[2], packed[3])
    if suffix.startswith("object:") and isinstance(node, yaml.MappingNode):
        return _state(loader, node)
    return None


def _state(loader: GoldenLoader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    state: dict[Any, Any] = {}
    yield state  # the dumps are recursive (each transaction points back to its collection)
    state.update(loader.construct_mapping(node, deep=True))


GoldenLoader.add_multi_constructor("tag:yaml.org,2002:python/", _python_tag)


def load_mt940_golden(path: Path) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=GoldenLoader)  # a SafeLoader
    assert isinstance(loaded, dict)
    return loaded


# -- camt documents written by hand, for the version and error tests ----------------------------

OPENING = (
    '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt>'
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>"
)
CLOSING = (
    '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">90.00</Amt>'
    "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-03-01</Dt></Dt></Bal>"
)


def camt_entry(
    *,
    amount: str = "10.00",
    currency: str = "EUR",
    indicator: str = "DBIT",
    status: str = "<Sts>BOOK</Sts>",
    booking: str = "<BookgDt><Dt>2024-03-01</Dt></BookgDt>",
    reference: str = "",
    code: str = "",
    details: str = "",
    extra: str = "",
) -> str:
    """One `Ntry`; `details` is the inside of `NtryDtls` (omitted when empty)."""
    return (
        f'<Ntry>{reference}<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"{extra}{status}{booking}<ValDt><Dt>2024-03-02</Dt></ValDt>{code}"
        + (f"<NtryDtls>{details}</NtryDtls>" if details else "")
        + "</Ntry>"
    )


def camt_document(
    entries: str,
    *,
    kind: str = "camt.053",
    version: str = "001.08",
    balances: str = OPENING + CLOSING,
    namespace: str | None = None,
    account: str = "<Id><IBAN>FR7630006000011234567890189</IBAN></Id>",
) -> bytes:
    """A camt.053 (or .054) document with one report holding `entries`."""
    message, report = (
        ("BkToCstmrStmt", "Stmt") if kind == "camt.053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    )
    xmlns = (
        namespace if namespace is not None else f"urn:iso:std:iso:20022:tech:xsd:{kind}.{version}"
    )
    declaration = f' xmlns="{xmlns}"' if xmlns else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document{declaration}><{message}>'
        "<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2024-03-02T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<{report}><Id>STMT-1</Id><CreDtTm>2024-03-02T06:00:00+01:00</CreDtTm>"
        f"<Acct>{account}</Acct>{balances if kind == 'camt.053' else ''}{entries}</{report}>"
        f"</{message}></Document>"
    ).encode()
