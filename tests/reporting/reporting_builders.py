"""Builders of the reporting tests: a seller whose ledger accounts move as money in and payouts
would move them (posted with the ledger service, so these tests do not depend on settlement's
event handling), a paid-out seller, and a small reader of the text in an uncompressed PDF.

Imported by the test modules of this folder (pytest puts the folder on `sys.path`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sellerpay.bankaccounts import service as bank_accounts
from sellerpay.clock import FixedClock
from sellerpay.crypto import KeyRing
from sellerpay.db import Database
from sellerpay.ledger.rules import EntryRequest, Side, TransactionRequest
from sellerpay.ledger.service import PostStatus, post_many
from sellerpay.money import Money
from sellerpay.payouts import service as payouts
from sellerpay.payouts.service import PayoutPolicy
from sellerpay.rails.instructions import IbanAccount
from sellerpay.sellers.service import create_seller

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEYRING = KeyRing(current_key_id="test", keys={"test": bytes(range(32))})
POLICY = PayoutPolicy(
    approval_thresholds={"EUR": 100_000_000, "JPY": 100_000_000, "USD": 100_000_000},
    minimum_default={"EUR": 100, "JPY": 100, "USD": 100},
    fx_margin_bps=50,
    return_fees={},
    platform_bank="main",
    chunk_size=10,
)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass
class SellerBook:
    """Posts one seller's money movements, each effective one hour after the last (or at a
    time given), the way settlement and payouts post them."""

    db: Database
    clock: FixedClock
    seller_id: str
    currency: str = "EUR"
    at: datetime = T0
    posted: list[str] = field(default_factory=list)  # kinds, in order

    def code(self, purpose: str) -> str:
        return purpose if ":" in purpose else f"seller:{self.seller_id}:{purpose}"

    def post(
        self,
        kind: str,
        legs: list[tuple[str, Side, int]],
        *,
        at: datetime | None = None,
        **references: str,
    ) -> datetime:
        if at is None:
            self.at += timedelta(hours=1)
            at = self.at
        request = TransactionRequest(
            idempotency_key=unique(kind),
            kind=kind,
            entries=tuple(
                EntryRequest(self.code(p), side, Money(minor, self.currency))
                for p, side, minor in legs
            ),
            effective_at=at,
            references=references,
            description=f"{kind} for {self.seller_id}",
        )
        (result,) = post_many(self.db, [request], clock=self.clock)
        assert result.status is PostStatus.POSTED, result.error
        self.posted.append(kind)
        return at

    def order_paid(self, net: int, fee: int = 0, *, at: datetime | None = None) -> str:
        order_id = unique("ord")
        legs = [("platform:psp_clearing", Side.DEBIT, net + fee), ("pending", Side.CREDIT, net)]
        if fee:
            legs.append(("platform:revenue:commission", Side.CREDIT, fee))
        self.post("order.paid", legs, at=at, order_id=order_id)
        return order_id

    def release(self, amount: int, *, at: datetime | None = None) -> None:
        legs = [("pending", Side.DEBIT, amount), ("available", Side.CREDIT, amount)]
        self.post("release", legs, at=at, order_id=unique("ord"))

    def refund(self, amount: int, *, at: datetime | None = None) -> None:
        legs = [
            ("available", Side.DEBIT, amount),
            ("platform:refunds_payable", Side.CREDIT, amount),
        ]
        self.post("order.refunded", legs, at=at, order_id=unique("ord"), refund_id=unique("re"))

    def dispute_opened(self, amount: int, *, at: datetime | None = None) -> None:
        legs = [("available", Side.DEBIT, amount), ("dispute_hold", Side.CREDIT, amount)]
        self.post("dispute.opened", legs, at=at, dispute_id=unique("dp"))

    def dispute_lost(self, amount: int, fee: int, *, at: datetime | None = None) -> None:
        """The held amount goes back to the customer; the fee is charged to available."""
        legs = [
            ("dispute_hold", Side.DEBIT, amount),
            ("platform:psp_clearing", Side.CREDIT, amount),
            ("available", Side.DEBIT, fee),
            ("platform:revenue:dispute_fees", Side.CREDIT, fee),
        ]
        self.post("dispute.lost", legs, at=at, dispute_id=unique("dp"))

    def reserve_held(self, amount: int, *, at: datetime | None = None) -> None:
        legs = [("available", Side.DEBIT, amount), ("reserve", Side.CREDIT, amount)]
        self.post("reserve.held", legs, at=at)

    def payout(self, amount: int, *, at: datetime | None = None) -> str:
        payout_id = unique("po")
        legs = [
            ("available", Side.DEBIT, amount),
            ("platform:payouts_in_transit", Side.CREDIT, amount),
        ]
        self.post("payout", legs, at=at, payout=payout_id, seller=self.seller_id)
        return payout_id

    def payout_returned(self, amount: int, bank: str, *, at: datetime | None = None) -> None:
        legs = [(f"platform:bank:{bank}", Side.DEBIT, amount), ("available", Side.CREDIT, amount)]
        self.post("payout_returned", legs, at=at, payout=unique("po"), reason="AC04")

    def adjustment(self, amount: int, *, at: datetime | None = None) -> None:
        legs = [("platform:adjustments", Side.DEBIT, amount), ("available", Side.CREDIT, amount)]
        self.post("adjustment", legs, at=at, adjustment_id=unique("adj"))


def new_seller(
    db: Database,
    clock: FixedClock,
    *,
    country: str = "FR",
    currency: str | None = None,
    seller_id: str | None = None,
    legal_name: str = "Acme Refurb",
) -> SellerBook:
    seller_id = seller_id or f"sel_{uuid.uuid4().hex}"
    seller, _ = create_seller(
        db,
        seller_id=seller_id,
        legal_name=legal_name,
        country=country,
        default_currency=currency,
        clock=clock,
    )
    return SellerBook(db, clock, seller_id, currency=seller.default_currency)


def paid_out_seller(
    db: Database, clock: FixedClock, seller_id: str | None = None
) -> tuple[SellerBook, str]:
    """A French seller paid three movements (two sales, a refund) by one on-demand payout;
    returns the seller and the payout id (its source amount is 7,000 + 2,500 - 1,000)."""
    book = new_seller(db, clock, seller_id=seller_id)
    for net in (7_000, 2_500):
        book.post(
            "order.released",
            [("platform:psp_clearing", Side.DEBIT, net), ("available", Side.CREDIT, net)],
            order_id=unique("ord"),
        )
    book.refund(1_000)
    account, _ = bank_accounts.add_bank_account(
        db,
        seller_id=book.seller_id,
        details=IbanAccount("FR7630006000011234567890189"),
        holder_name="Acme Refurb",
        currency="EUR",
        make_default=True,
        actor="key:k_seller (seller)",
        now=clock.now() - timedelta(hours=200),
        keyring=KEYRING,
    )
    with db.transaction() as conn:
        bank_accounts.record_verification(
            conn, account.id, note="test: name matches", actor="system:test", now=clock.now()
        )
    payout, _ = payouts.create_payout(
        db,
        seller_id=book.seller_id,
        currency="EUR",
        amount=None,
        bank_account_id=None,
        kind="on_demand",
        requested_by="key:k_seller (seller)",
        idempotency_key=unique("payout"),
        description="",
        clock=clock,
        keyring=KEYRING,
        policy=POLICY,
    )
    return book, payout.id


# --- reading an uncompressed PDF (tests render with compress=False) ---------------------------

_TEXT_OPERATOR = re.compile(rb"/(?P<font>F\d+) [\d.]+ Tf|\((?P<string>(?:\\.|[^\\)])*)\) Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(raw):
        byte = raw[index : index + 1]
        if byte != b"\\":
            out += byte
            index += 1
            continue
        following = raw[index + 1 : index + 2]
        octal = re.match(rb"[0-7]{1,3}", raw[index + 1 : index + 4])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            index += 1 + len(octal.group())
        else:
            out += _ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages of a PDF written by reportlab with `compress=False`: WinAnsi
    for the standard fonts, UCS-2 for the Japanese CID font (Type0)."""
    cid_fonts = {
        m["name"].decode()
        for m in re.finditer(
            rb"/BaseFont /[\w-]+ /DescendantFonts.*?/Name /(?P<name>F\d+)", pdf, re.S
        )
    }
    font = ""
    parts: list[str] = []
    for match in _TEXT_OPERATOR.finditer(pdf):
        if match["font"]:
            font = match["font"].decode()
            continue
        raw = _unescape(match["string"])
        parts.append(raw.decode("utf-16-be") if font in cid_fonts else raw.decode("cp1252"))
    return "\n".join(parts)


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def pdf_fonts(pdf: bytes) -> set[str]:
    return {m.decode() for m in re.findall(rb"/BaseFont /([\w-]+)", pdf)}
