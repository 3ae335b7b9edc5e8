"""Who sells on the simulated marketplace: sellers in France, Spain, the US and Japan, each with
a bank account of its country's rail (IBAN + BIC, ABA checking account, Zengin account with a
katakana holder name), a payout schedule, a risk tier, and sometimes a story the run must
handle: a seller paid in another currency (FX), one not yet verified, one on a sanctions list,
one that changes its bank account shortly before a payout.

Pure: `draw_population` turns the run's dice into `SimSeller`s; `world.py` creates them
through the real services. Every account number is valid for its format (IBAN and national
check digits computed by schwifty, real ABA routing numbers and Zengin bank codes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from schwifty import IBAN

from sellerpay.money import Money
from sellerpay.onboarding.rules import BusinessType
from sellerpay.payouts.schedules import PayoutSchedule
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    UkAccount,
    ZenginAccount,
)
from sellerpay.sellers.rules import RiskTier

__all__ = [
    "COUNTRIES",
    "SANCTIONED_NAME",
    "Kyc",
    "SimSeller",
    "draw_population",
    "new_bank_account",
]

COUNTRIES: Final = {
    "FR": ("EUR", "fr_FR"),
    "ES": ("EUR", "es_ES"),
    "US": ("USD", "en_US"),
    "JP": ("JPY", "ja_JP"),
}
SANCTIONED_NAME: Final = "Sovcomflot Trading PJSC"
"""Close to an entry of the simulation's OFAC list (PJSC SOVCOMFLOT, `data/ofac/sdn.csv`)."""

# Banks whose codes schwifty's registry knows, so the BIC is the bank's own.
_FR_BANKS: Final = ("30006", "30004", "30003", "10107")
_ES_BANKS: Final = ("2100", "0049", "0182")
_ABA_ROUTING: Final = ("021000021", "026009593", "121000248", "011000015", "031100209")
_ZENGIN_BANKS: Final = ("0001", "0005", "0009", "0010")
_UK_SORT_CODES: Final = ("200000", "400515", "309634", "601613")
_TIERS: Final = (RiskTier.LOW, RiskTier.STANDARD, RiskTier.STANDARD, RiskTier.HIGH)

rates: Final = {
    "weekly": 0.3,
    "monthly": 0.1,
    "fx": 0.04,
    "unverified": 0.03,
    "individual": 0.6,
    "sole_trader": 0.3,
}


class Kyc(StrEnum):
    """How far a seller's onboarding goes in the run."""

    VERIFIED = "verified"  # profile, persons, documents approved; the provider verifies
    UNVERIFIED = "unverified"  # sent everything; documents not yet reviewed: no payouts


@dataclass(frozen=True, slots=True)
class SimSeller:
    """A seller of the run: who it is, where it is paid, and its story."""

    id: str
    country: str
    currency: str
    locale: str
    risk_tier: RiskTier
    legal_name: str
    account: BankAccountDetails
    account_currency: str
    holder_name: str
    business_type: BusinessType
    schedule: PayoutSchedule | None  # None: the default (daily, default minimum)
    kyc: Kyc = Kyc.VERIFIED
    sanctioned: bool = False
    changes_account_on: int | None = None  # from this day, before its next payout, it adds
    # a new default bank account
    volume: float = 1.0  # orders relative to the marketplace's average seller

    @property
    def fx(self) -> bool:
        return self.account_currency != self.currency


def draw_population(rng: random.Random, count: int, *, days: int) -> list[SimSeller]:
    """`count` sellers, the countries in turn; stories drawn from `rng`. With 8 sellers or
    more, exactly one is on the sanctions list and one changes its bank account mid-run."""
    countries = list(COUNTRIES)
    sellers = [
        _seller(rng, i, countries[i % len(countries)]) for i in range(count)
    ]  # the same draws in the same order for one seed
    if count >= 8:
        sanctioned = rng.randrange(count)
        changer = (sanctioned + 1 + rng.randrange(count - 1)) % count
        sellers[sanctioned] = _sanctioned(sellers[sanctioned])
        sellers[changer] = _changer(sellers[changer], day=max(1, min(days - 4, days // 3)))
    return sellers


def _seller(rng: random.Random, index: int, country: str) -> SimSeller:
    currency, locale = COUNTRIES[country]
    seller_id = f"sel_{country.lower()}{index:06d}"
    legal_name = _legal_name(country, seller_id)
    account_currency = currency
    if rng.random() < rates["fx"]:
        account_currency = {"EUR": "GBP", "USD": "EUR", "JPY": "USD"}[currency]
    account, holder = _account(rng, country, account_currency, legal_name)
    kyc = Kyc.UNVERIFIED if rng.random() < rates["unverified"] else Kyc.VERIFIED
    business_type = _business_type(rng, country)
    return SimSeller(
        id=seller_id,
        country=country,
        currency=currency,
        locale=locale,
        risk_tier=rng.choice(_TIERS),
        legal_name=legal_name,
        account=account,
        account_currency=account_currency,
        holder_name=holder,
        business_type=business_type,
        schedule=_schedule(rng, currency),
        kyc=kyc,
    )


def _business_type(rng: random.Random, country: str) -> BusinessType:
    """Mostly people reselling devices, some sole traders, a few companies. (A French sole
    trader needs a SIREN that the simulated onboarding does not send: none in France.)"""
    roll = rng.random()
    if roll < rates["individual"]:
        return BusinessType.INDIVIDUAL
    if roll < rates["individual"] + rates["sole_trader"] and country != "FR":
        return BusinessType.SOLE_TRADER
    return BusinessType.COMPANY


def _legal_name(country: str, seller_id: str) -> str:
    """The legal name `onboarding.demo.onboard_simulated_seller` gives the seller's profile, so
    that the bank account holder's name matches it (onboarding compares them)."""
    return f"株式会社デモ{seller_id[-4:]}" if country == "JP" else f"Demo Refurb {seller_id[-6:]}"


def _account(
    rng: random.Random, country: str, currency: str, legal_name: str
) -> tuple[BankAccountDetails, str]:
    """A valid account of the rail that pays `currency`, and its holder's name as the bank
    has it (Zengin: katakana, the company's 株式会社 written カ) as Japanese banks do)."""
    if currency == "JPY":
        holder = "カ)デモ" + legal_name.removeprefix("株式会社デモ")  # ｶ)ﾃﾞﾓ0003 at the bank
        account = ZenginAccount(
            rng.choice(_ZENGIN_BANKS), f"{rng.randrange(1, 1000):03d}", _digits(rng, 7)
        )
        return account, holder
    if country == "JP":  # a Japanese company's account abroad, in Latin letters
        legal_name = "DEMO" + legal_name.removeprefix("株式会社デモ") + " K.K."
    if currency == "USD":
        return AbaAccount(rng.choice(_ABA_ROUTING), _digits(rng, rng.randint(8, 12))), legal_name
    if currency == "GBP":
        return UkAccount(rng.choice(_UK_SORT_CODES), _digits(rng, 8)), legal_name
    iban_country = country if country in ("FR", "ES") else "FR"
    return _iban(rng, iban_country), legal_name


def _iban(rng: random.Random, country: str) -> IbanAccount:
    if country == "ES":
        iban = IBAN.generate(
            "ES",
            bank_code=rng.choice(_ES_BANKS),
            branch_code=_digits(rng, 4),
            account_code=_digits(rng, 10),
        )
    else:
        iban = IBAN.generate(
            "FR",
            bank_code=rng.choice(_FR_BANKS),
            branch_code=_digits(rng, 5),
            account_code=_digits(rng, 11),
        )
    bic = iban.bic
    return IbanAccount(str(iban.compact), None if bic is None else str(bic.compact))


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(count - 1))


def _schedule(rng: random.Random, currency: str) -> PayoutSchedule | None:
    minimum = Money(100 if currency != "JPY" else 1_000, currency)
    roll = rng.random()
    if roll < rates["weekly"]:
        return PayoutSchedule(interval="weekly", minimum=minimum, weekday=rng.randrange(5))
    if roll < rates["weekly"] + rates["monthly"]:
        return PayoutSchedule(interval="monthly", minimum=minimum, day_of_month=rng.randint(1, 28))
    return None


def _sanctioned(seller: SimSeller) -> SimSeller:
    """The seller's company name is on the list; its profile and bank account keep the names
    onboarding gives them, so the sanctions match is the one thing that blocks it."""
    return replace(
        seller,
        legal_name=SANCTIONED_NAME,
        business_type=BusinessType.COMPANY,
        kyc=Kyc.VERIFIED,
        sanctioned=True,
        volume=3.0,
    )


def _changer(seller: SimSeller, *, day: int) -> SimSeller:
    """A busy seller paid daily, whose funds are released soon: it will have a payout due
    when it changes its bank account."""
    return replace(
        seller,
        schedule=None,
        kyc=Kyc.VERIFIED,
        risk_tier=RiskTier.LOW,
        changes_account_on=day,
        volume=3.0,
    )


def new_bank_account(rng: random.Random, seller: SimSeller) -> BankAccountDetails:
    """Another account of the same format for `seller` (a changed bank account)."""
    account, _ = _account(rng, seller.country, seller.account_currency, seller.legal_name)
    return account
