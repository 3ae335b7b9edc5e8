"""Currency conversion at a quoted exchange rate, exact until one explicit rounding.

The rate is a value the caller got from an FX provider (fetching rates is I/O and lives
elsewhere); this module only applies it, so a payout in another currency is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sellerpay.errors import InvalidInput
from sellerpay.money.currencies import exponent
from sellerpay.money.errors import CurrencyMismatch
from sellerpay.money.money import Money
from sellerpay.money.rates import rate_as_fraction
from sellerpay.money.rounding import RoundingMode, divide_rounded


@dataclass(frozen=True, slots=True)
class ExchangeRate:
    """One unit of `base` is worth `rate` units of `quote` (EUR->USD 1.0842: 1 EUR = 1.0842 USD).

    `rate` is a positive Decimal (not a float, not text: build it with `Decimal("1.0842")`)
    with at most `RATE_DECIMALS_MAX` decimals; otherwise `InvalidInput`, code `invalid_rate`.
    """

    base: str
    quote: str
    rate: Decimal

    def __post_init__(self) -> None:
        exponent(self.base)  # UnknownCurrency
        exponent(self.quote)
        if self.base == self.quote:
            raise InvalidInput(
                f"an exchange rate needs two currencies, got {self.base} twice",
                code="exchange_rate_same_currency",
            )
        if type(self.rate) is not Decimal:
            raise InvalidInput(
                f"an exchange rate must be a Decimal, not {type(self.rate).__name__}",
                code="invalid_rate",
            )
        numerator, _ = rate_as_fraction(self.rate, name="exchange rate")
        if numerator == 0:
            raise InvalidInput("an exchange rate must be positive", code="invalid_rate")

    def convert(self, amount: Money, *, rounding: RoundingMode) -> Money:
        """`amount` (in `base`) in `quote`, computed exactly and rounded once by `rounding`.

        Minor units are rescaled by the two ISO exponents: 10.00 EUR at 160.25 JPY is 1603 JPY
        (HALF_UP), 1000 JPY at 0.0062 EUR is 6.20 EUR.
        """
        if not isinstance(amount, Money):
            raise InvalidInput(f"convert takes Money, not {type(amount).__name__}")
        if amount.currency != self.base:
            raise CurrencyMismatch(
                f"this rate converts {self.base}, not {amount.currency}",
                expected=self.base,
                found=amount.currency,
            )
        numerator, denominator = rate_as_fraction(self.rate, name="exchange rate")
        shift = exponent(self.quote) - exponent(self.base)
        if shift >= 0:
            numerator *= 10**shift
        else:
            denominator *= 10**-shift
        quote_minor = divide_rounded(amount.amount_minor * numerator, denominator, rounding)
        return Money(quote_minor, self.quote)
