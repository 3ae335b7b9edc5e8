"""`Money`: an exact amount, an int of minor units in one ISO currency, and its operations.

Everything that turns money into other money is here or one call away: arithmetic that refuses
to mix currencies, fees in basis points and percentages rounded by an explicit mode, and exact
splits. Floats are refused at every entry point: 0.1 + 0.2 is not 0.3.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from sellerpay.errors import InvalidInput
from sellerpay.money.allocation import split_minor_units
from sellerpay.money.currencies import exponent as currency_exponent
from sellerpay.money.errors import CurrencyMismatch, InvalidAmount, TooManyDecimals
from sellerpay.money.formatting import format_amount
from sellerpay.money.parsing import parse_minor_units
from sellerpay.money.rates import rate_as_fraction
from sellerpay.money.rounding import RoundingMode, divide_rounded

AMOUNT_MINOR_MAX: Final = 2**63 - 1
"""The largest magnitude of an amount in minor units: what a PostgreSQL BIGINT column holds.

Checked on every `Money` made (arithmetic included), so an amount that could not be stored is
refused where it appears, as `InvalidAmount`, not later as a database error. The bound is
symmetric, so negating an amount never leaves the range.
"""
BASIS_POINTS_PER_WHOLE: Final = 10_000
FEE_BPS_MAX: Final = 10_000
"""A fee of more than 100 % of the amount it is taken from is a mistake in a fee rule."""
PERCENT_MAX: Final = 100


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: `amount_minor` minor units (cents, yen) of ISO 4217 `currency`.

    Immutable and hashable. `==` compares amount and currency (12 EUR != 12 USD); ordering
    and arithmetic across currencies raise `CurrencyMismatch`. Multiply only by an `int`;
    there is no division: use `allocate`, `fee_bps` or `percent`, which say how to round.
    `str()` is machine-stable ("12.34 EUR") and parses back; `format(locale)` is for people.
    """

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount_minor) is not int:  # bool is an int subclass: refused too
            raise InvalidAmount(
                "amount_minor must be an int of minor units, not "
                f"{type(self.amount_minor).__name__} (floats are never exact; "
                "use Money.parse or Money.from_decimal)",
                currency=self.currency if isinstance(self.currency, str) else None,
            )
        currency_exponent(self.currency)  # UnknownCurrency
        if not -AMOUNT_MINOR_MAX <= self.amount_minor <= AMOUNT_MINOR_MAX:
            raise InvalidAmount(
                f"the amount is beyond ±{AMOUNT_MINOR_MAX} minor units", currency=self.currency
            )

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def of_minor(cls, amount_minor: int, currency: str) -> Money:
        """`amount_minor` minor units of `currency`: `Money.of_minor(1234, "EUR")` is 12.34 EUR."""
        return cls(amount_minor, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in `currency`: the start of a sum, a balance with no entries."""
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """The amount written in `text` ("12.34", "1 234,56 €", "¥1,000"), exactly, or an error.

        The grammar and how "," and "." are told apart: `parsing.parse_minor_units`. In short,
        it reads what CLDR locales print and what people type, and refuses what could mean two
        amounts ("1,234" EUR) and every rounding ("12.345" EUR: `TooManyDecimals`).
        """
        return cls(parse_minor_units(text, currency), currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str) -> Money:
        """`value` major units of `currency` if exact in its minor units, else `TooManyDecimals`.

        Trailing zeros do not count ("12.340" EUR is 12.34 EUR): a Decimal carries its value
        unambiguously, unlike text, where "1,000" could mean a thousand.
        """
        places = currency_exponent(currency)
        if type(value) is not Decimal:
            raise InvalidAmount(
                f"from_decimal takes a Decimal, not {type(value).__name__}", currency=currency
            )
        sign, digits, value_exponent = value.as_tuple()
        if not isinstance(value_exponent, int):
            raise InvalidAmount(f"{value} is not a finite amount", currency=currency)
        significant = "".join(map(str, digits)).rstrip("0")
        if not significant:
            return cls(0, currency)
        value_exponent += len(digits) - len(significant)
        if value.adjusted() + places >= len(str(AMOUNT_MINOR_MAX)):
            raise InvalidAmount(f"{value} is beyond the largest amount", currency=currency)
        if value_exponent + places < 0:
            raise TooManyDecimals(
                f"{value} has more than {places} decimals, the most {currency} has; "
                "amounts are never rounded (round explicitly with a RoundingMode first)",
                currency=currency,
                decimals_max=places,
            )
        magnitude = int(significant) * 10 ** (value_exponent + places)
        return cls(-magnitude if sign else magnitude, currency)

    # -- reading ------------------------------------------------------------------------------

    @property
    def exponent(self) -> int:
        """The number of decimals of the currency (EUR 2, JPY 0, BHD 3), from ISO 4217."""
        return currency_exponent(self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly: 1234 EUR minor units -> Decimal("12.34")."""
        places = self.exponent
        digits = tuple(int(digit) for digit in str(abs(self.amount_minor)))
        return Decimal((int(self.amount_minor < 0), digits, -places))

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def __str__(self) -> str:
        """ "-1234.50 EUR": "." decimals, no grouping, ISO code; `Money.parse` reads it back."""
        places = self.exponent
        whole, fraction = divmod(abs(self.amount_minor), 10**places)
        sign = "-" if self.amount_minor < 0 else ""
        decimals = f".{fraction:0{places}d}" if places else ""
        return f"{sign}{whole}{decimals} {self.currency}"

    def format(self, locale: str = "en_US") -> str:
        """The amount as `locale` writes money ("12,34 €" in fr_FR), with ISO's decimals.

        For people only (statements, e-mails, the dashboard); store and exchange `str()` or
        `amount_minor`. `Money.parse` reads the result back for every locale whose symbols it
        knows (`SYMBOL_LOCALES`). Why ISO decimals, not babel's: `sellerpay.money.formatting`.
        """
        return format_amount(self.to_decimal(), self.currency, locale)

    # -- arithmetic ---------------------------------------------------------------------------

    def _require_same_currency(self, other: Money, operation: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot {operation} {other.currency} and {self.currency}; convert first",
                expected=self.currency,
                found=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "add")
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "subtract")
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount_minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        """Money times a whole number (a quantity). Not a float, not a Decimal: use `percent`."""
        if type(factor) is not int:
            raise InvalidAmount(
                f"Money can only be multiplied by an int, not {type(factor).__name__}; "
                "for rates use percent() or fee_bps(), which say how to round",
                currency=self.currency,
            )
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "compare")
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "compare")
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "compare")
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._require_same_currency(other, "compare")
        return self.amount_minor >= other.amount_minor

    # -- fees and splits ----------------------------------------------------------------------

    def fee_bps(self, bps: int, *, rounding: RoundingMode) -> Money:
        """`bps` basis points of this amount (250 bps = 2.5 %), computed exactly, rounded once.

        0 <= bps <= `FEE_BPS_MAX`, so a fee never exceeds the amount it is taken from. The sign
        follows the amount: the fee on a refund (negative) is negative.
        """
        if type(bps) is not int or not 0 <= bps <= FEE_BPS_MAX:
            raise InvalidInput(
                f"a fee must be 0 to {FEE_BPS_MAX} basis points, an int, not {bps!r}",
                code="invalid_fee_bps",
            )
        numerator = self.amount_minor * bps
        return Money(divide_rounded(numerator, BASIS_POINTS_PER_WHOLE, rounding), self.currency)

    def percent(self, rate: Decimal | str, *, rounding: RoundingMode) -> Money:
        """`rate` percent of this amount ("12.5" is 12.5 %), computed exactly, rounded once.

        `rate` is a Decimal or plain text, 0 to `PERCENT_MAX`, at most `RATE_DECIMALS_MAX`
        decimals; anything else raises `InvalidInput` with code `invalid_rate`.
        """
        numerator, denominator = rate_as_fraction(rate, name="percent")
        if numerator > PERCENT_MAX * denominator:
            raise InvalidInput(
                f"a percentage must be 0 to {PERCENT_MAX}, not {rate!r}", code="invalid_rate"
            )
        amount = divide_rounded(self.amount_minor * numerator, denominator * 100, rounding)
        return Money(amount, self.currency)

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """This amount split by `ratios`, shares adding up exactly; see the `allocate` function."""
        return allocate(self, ratios)


def allocate(total: Money, ratios: Sequence[int]) -> list[Money]:
    """Split `total` into shares proportional to `ratios` that add up to it exactly.

    `allocate(Money.of_minor(100, "EUR"), [1, 1, 1])` is 0.34, 0.33, 0.33 EUR: the largest
    remainder method, ties to the earliest share, each share within one minor unit of its exact
    value; a negative total splits as the mirror of the positive one. Ratios are non-negative
    ints, not all zero (`InvalidInput`, codes `allocation_ratios_empty`,
    `allocation_ratio_not_int`, `allocation_ratio_negative`, `allocation_ratios_all_zero`).
    """
    if not isinstance(total, Money):
        raise InvalidAmount(f"allocate splits Money, not {type(total).__name__}")
    return [Money(share, total.currency) for share in split_minor_units(total.amount_minor, ratios)]


def sum_money(items: Iterable[Money], currency: str) -> Money:
    """The total of `items`, all in `currency` (else `CurrencyMismatch`); zero when empty.

    The currency is a parameter, not guessed from the first item, so that an empty list still
    has a total and a list in the wrong currency fails even when it has one item.
    """
    currency_exponent(currency)  # UnknownCurrency, even for an empty list
    total_minor = 0
    for item in items:
        if not isinstance(item, Money):
            raise InvalidAmount(f"sum_money adds Money, not {type(item).__name__}")
        if item.currency != currency:
            raise CurrencyMismatch(
                f"cannot add {item.currency} to a total in {currency}",
                expected=currency,
                found=item.currency,
            )
        total_minor += item.amount_minor
    return Money(total_minor, currency)


def format_money(money: Money, locale: str) -> str:
    """`money.format(locale)`: the amount as `locale` writes money, with ISO's decimals."""
    return money.format(locale)


def parse_money(text: str, currency: str) -> Money:
    """`Money.parse(text, currency)`: the amount written in `text`, exactly, or an error."""
    return Money.parse(text, currency)
