"""Exact money: `Money` (int minor units + ISO 4217 code), currencies, rounding, splits and FX.

Pure: imports only the standard library, `iso4217`, `babel` and `sellerpay.errors`. Every
other context passes amounts around as `Money`, never as a bare int, Decimal or float.

    currencies   Currency, currency(), exponent(): ISO 4217's table, never typed by hand
    money        Money and its arithmetic, fees (basis points, percent), allocate, sum_money
    parsing      text -> minor units: the documented grammar behind Money.parse
    formatting   Money.format for people, via babel with ISO's decimals
    allocation   the largest-remainder split behind allocate
    rounding     RoundingMode and exact rounded integer division
    rates        exact rates (percent, FX) from Decimal or text
    fx           ExchangeRate.convert
    errors       UnknownCurrency, CurrencyMismatch, InvalidAmount, TooManyDecimals, UnknownLocale
"""

from sellerpay.money.allocation import ALLOCATION_RATIOS_MAX
from sellerpay.money.currencies import Currency, currency, currency_codes, exponent
from sellerpay.money.errors import (
    CurrencyMismatch,
    InvalidAmount,
    TooManyDecimals,
    UnknownCurrency,
    UnknownLocale,
)
from sellerpay.money.formatting import LOCALE_LENGTH_MAX
from sellerpay.money.fx import ExchangeRate
from sellerpay.money.money import (
    AMOUNT_MINOR_MAX,
    FEE_BPS_MAX,
    PERCENT_MAX,
    Money,
    allocate,
    format_money,
    parse_money,
    sum_money,
)
from sellerpay.money.parsing import PARSE_TEXT_LENGTH_MAX, SYMBOL_LOCALES
from sellerpay.money.rates import RATE_DECIMALS_MAX
from sellerpay.money.rounding import RoundingMode

__all__ = [
    "ALLOCATION_RATIOS_MAX",
    "AMOUNT_MINOR_MAX",
    "FEE_BPS_MAX",
    "LOCALE_LENGTH_MAX",
    "PARSE_TEXT_LENGTH_MAX",
    "PERCENT_MAX",
    "RATE_DECIMALS_MAX",
    "SYMBOL_LOCALES",
    "Currency",
    "CurrencyMismatch",
    "ExchangeRate",
    "InvalidAmount",
    "Money",
    "RoundingMode",
    "TooManyDecimals",
    "UnknownCurrency",
    "UnknownLocale",
    "allocate",
    "currency",
    "currency_codes",
    "exponent",
    "format_money",
    "parse_money",
    "sum_money",
]
