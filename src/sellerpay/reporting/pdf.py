"""A seller's statement as a PDF (reportlab), in the statement's language.

Latin languages use the standard Helvetica, whose WinAnsi encoding covers French and Spanish
and the € sign; a character outside it (the narrow no-break space babel puts in French amounts,
a Polish Ł in a company name) would be drawn as a black box, so it is replaced first: a space
by a no-break space, anything else by its closest ASCII (`unidecode`). Japanese uses the
Japanese CID font reportlab ships, HeiseiKakuGo-W5, which PDF readers draw from their own
Japanese fonts (nothing to embed). Money is `Money.format(locale)` (ISO decimals, the locale's
symbols and grouping); dates are babel's, for the locale.

A4 landscape: a heading, each account's balance at opening and closing, then every line.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any, Final
from xml.sax.saxutils import escape

from babel.dates import format_date, format_interval
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from unidecode import unidecode

from sellerpay.balances.rules import SellerAccount
from sellerpay.errors import LimitExceeded
from sellerpay.money import Money
from sellerpay.reporting.labels import labels_of
from sellerpay.reporting.rules import SellerStatement, StatementLine, total_of

statement_lines_max: Final = 20_000
"""A PDF of more lines would run to hundreds of pages: ask for a shorter period (or the CSV)."""
JAPANESE_FONT: Final = "HeiseiKakuGo-W5"
_LATIN_FONTS: Final = ("Helvetica", "Helvetica-Bold")
_ROWS_PER_TABLE: Final = 300  # reportlab splits long tables across pages; smaller is faster
_PAGE: Final = landscape(A4)
_MARGIN: Final = 12 * mm
_LINE_WIDTHS: Final = (58, 190, 110, 80, 80, 80, 80, 86)  # points: A4 landscape less margins
_GRID: Final = colors.HexColor("#c8c8c8")
_HEADER_FILL: Final = colors.HexColor("#eeeeee")
_FOOTER_INK: Final = colors.HexColor("#555555")
_ACCOUNT_WORDS: Final = {
    SellerAccount.PENDING: "pending",
    SellerAccount.AVAILABLE: "available",
    SellerAccount.RESERVE: "reserved",
    SellerAccount.DISPUTE_HOLD: "dispute_hold",
}
_REFERENCE_ORDER: Final[Sequence[str]] = (
    "payout", "payout_id", "refund_id", "dispute_id", "adjustment_id", "order_id",
)  # fmt: skip


@lru_cache(maxsize=1)
def _japanese_font() -> str:
    """Register the CID font once per process (reportlab keeps a global registry)."""
    pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
    return JAPANESE_FONT


def fonts_of(language: str) -> tuple[str, str]:
    """The (regular, bold) fonts a statement in `language` is written with."""
    if language == "ja":
        font = _japanese_font()
        return font, font
    return _LATIN_FONTS


def winansi_text(text: str) -> str:
    """`text` with every character Helvetica cannot draw replaced (see the module's doc)."""
    shown = []
    for character in text:
        try:
            character.encode("cp1252")
        except UnicodeEncodeError:
            if unicodedata.category(character) == "Zs":
                character = "\u00a0"
            elif character == "\u2212":  # minus sign
                character = "-"
            else:
                character = unidecode(character) or "?"
        shown.append(character)
    return "".join(shown)


def statement_pdf(
    statement: SellerStatement, *, invariant: bool = False, compress: bool = True
) -> bytes:
    """The statement as PDF bytes. `invariant` makes the file the same for the same statement
    (no creation time or random id); `compress=False` leaves page text searchable (tests)."""
    if len(statement.lines) > statement_lines_max:
        raise LimitExceeded(
            f"a PDF statement holds at most {statement_lines_max} lines: ask for a shorter "
            "period, or the CSV",
            code="statement_lines_max",
            limit=statement_lines_max,
        )
    render = _Render(statement)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=_PAGE,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 6 * mm,
        title=f"{render.words['title']} {statement.seller_id} {statement.currency}",
        author="Sellerpay",
        subject=render.words["title"],
        creator="Sellerpay",
        invariant=1 if invariant else 0,
        pageCompression=1 if compress else 0,
        lang=statement.language,
    )
    document.build(render.story(), onFirstPage=render.footer, onLaterPages=render.footer)
    return buffer.getvalue()


class _Render:
    """Turns one statement into reportlab flowables, every text shown through `show` (the
    character rules of the statement's font)."""

    def __init__(self, statement: SellerStatement) -> None:
        self.statement = statement
        self.locale = statement.locale
        self.regular, self.bold = fonts_of(statement.language)
        latin = self.regular != JAPANESE_FONT
        self.show: Callable[[str], str] = winansi_text if latin else str
        self.words = {key: self.show(text) for key, text in labels_of(statement.language).items()}
        wrap = "LTR" if latin else "CJK"  # Japanese breaks lines between any two characters
        self.title_style = ParagraphStyle("title", fontName=self.bold, fontSize=16, leading=20)
        self.text_style = ParagraphStyle(
            "text", fontName=self.regular, fontSize=9, leading=12, wordWrap=wrap
        )
        self.cell_style = ParagraphStyle(
            "cell", fontName=self.regular, fontSize=8, leading=10, wordWrap=wrap
        )

    def money(self, amount: Money) -> str:
        return self.show(amount.format(self.locale))

    def paragraph(self, text: str, style: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(self.show(text)), style)

    def footer(self, canvas: Any, _document: Any) -> None:
        """Each page's footer: the seller, how to read the dates, the page number."""
        canvas.saveState()
        canvas.setFont(self.regular, 7)
        canvas.setFillColor(_FOOTER_INK)
        left = self.show(f"{self.statement.seller_id} · ") + self.words["dates_in_utc"]
        canvas.drawString(_MARGIN, _MARGIN, left)
        number = self.words["page"].format(page=canvas.getPageNumber())
        canvas.drawRightString(_PAGE[0] - _MARGIN, _MARGIN, number)
        canvas.restoreState()

    def story(self) -> list[Any]:
        story: list[Any] = [
            Paragraph(escape(self.words["title"]), self.title_style),
            Spacer(1, 3 * mm),
            self.heading(),
            Spacer(1, 5 * mm),
            self.summary(),
            Spacer(1, 6 * mm),
        ]
        if self.statement.lines:
            story.extend(self.line_tables())
        else:
            story.append(Paragraph(escape(self.words["no_movements"]), self.text_style))
        story += [Spacer(1, 4 * mm), Paragraph(escape(self.words["checked"]), self.cell_style)]
        return story

    def period(self) -> str:
        statement = self.statement
        last_day = (statement.period_end - timedelta(microseconds=1)).date()
        if statement.period_start is None:
            day = format_date(last_day, format="medium", locale=self.locale)
            return self.words["until"].format(date=self.show(day))
        interval = format_interval(
            statement.period_start.date(), last_day, "yMMMd", locale=self.locale
        )
        return self.show(str(interval))

    def heading(self) -> Table:
        statement = self.statement
        issued = format_date(statement.generated_at.date(), format="long", locale=self.locale)
        rows = [
            [
                self.words["seller"],
                self.paragraph(f"{statement.legal_name} ({statement.seller_id})", self.text_style),
            ],
            [self.words["currency"], statement.currency],
            [self.words["period"], self.period()],
            [self.words["issued"], self.show(issued)],
        ]
        table = Table(rows, colWidths=(90, 420), hAlign="LEFT")
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (0, -1), self.bold, 9),
                    ("FONT", (1, 0), (1, -1), self.regular, 9),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ("TOPPADDING", (0, 0), (-1, -1), 1),
                ]
            )
        )
        return table

    def summary(self) -> Table:
        """Each account's balance at opening and closing, the change between, and the total."""
        statement, words = self.statement, self.words
        currency = statement.currency
        accounts = list(SellerAccount)
        zero = Money.zero(currency)

        def row(label: str, balances: Mapping[SellerAccount, Money]) -> list[str]:
            cells = [self.money(balances.get(a, zero)) for a in accounts]
            return [label, *cells, self.money(total_of(balances, currency))]

        change = {
            a: statement.closing.get(a, zero) - statement.opening.get(a, zero) for a in accounts
        }
        rows = [
            ["", *(words[_ACCOUNT_WORDS[a]] for a in accounts), words["total"]],
            row(words["opening_balance"], statement.opening),
            row(words["change"], change),
            row(words["closing_balance"], statement.closing),
        ]
        table = Table(rows, colWidths=(130, *([100] * (len(accounts) + 1))), hAlign="LEFT")
        table.setStyle(self.grid(first_numeric_column=1, bold_last_row=True))
        return table

    def grid(self, *, first_numeric_column: int, bold_last_row: bool = False) -> TableStyle:
        commands: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), self.regular, 8),
            ("FONT", (0, 0), (-1, 0), self.bold, 8),
            ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
            ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (first_numeric_column, 0), (-1, -1), "RIGHT"),
        ]
        if bold_last_row:
            commands.append(("FONT", (0, -1), (-1, -1), self.bold, 8))
        return TableStyle(commands)

    def line_tables(self) -> list[Table]:
        words = self.words
        header = [
            words["date"], words["description"], words["reference"], words["pending"],
            words["available"], words["held"], words["amount"], words["balance"],
        ]  # fmt: skip
        rows = [self.line_row(line) for line in self.statement.lines]
        tables = []
        for start in range(0, len(rows), _ROWS_PER_TABLE):
            table = Table(
                [header, *rows[start : start + _ROWS_PER_TABLE]],
                colWidths=_LINE_WIDTHS,
                repeatRows=1,
                hAlign="LEFT",
            )
            table.setStyle(self.grid(first_numeric_column=3))
            tables.append(table)
        return tables

    def line_row(self, line: StatementLine) -> list[Any]:
        words = self.words

        def change(*accounts: SellerAccount) -> str:
            moved = [line.changes[a] for a in accounts if a in line.changes]
            return self.money(sum(moved[1:], moved[0])) if moved else ""

        text = words[f"category.{line.category.value}"]
        if line.gross is not None and line.fee is not None:
            text += (
                f" · {words['gross']} {self.money(line.gross)}"
                f" · {words['fee']} {self.money(line.fee)}"
            )
        day = format_date(line.effective_at.date(), format="short", locale=self.locale)
        return [
            self.show(day),
            Paragraph(escape(text), self.cell_style),
            self.paragraph(_reference(line.references), self.cell_style),
            change(SellerAccount.PENDING),
            change(SellerAccount.AVAILABLE),
            change(SellerAccount.RESERVE, SellerAccount.DISPUTE_HOLD),
            self.money(line.amount),
            self.money(line.balance_after),
        ]


def _reference(references: Mapping[str, str]) -> str:
    """The most specific reference of a line: its payout, refund, dispute or adjustment, then
    its order (a refund names both; the refund is what the line is)."""
    return next((references[name] for name in _REFERENCE_ORDER if references.get(name)), "")


__all__ = ["JAPANESE_FONT", "fonts_of", "statement_lines_max", "statement_pdf", "winansi_text"]
