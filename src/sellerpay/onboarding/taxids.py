"""Tax and company ids, validated with python-stdnum and normalised (compact form): which scheme
applies to a seller's registration number and tax id by country and business type, and a typed
error naming the field and why a number is wrong (check digit, length, format…).

Pure: no I/O. Schemes:

    FR  SIREN, SIRET (registration); TVA (VAT); numéro fiscal (individuals' tax id)
    ES  CIF (company registration); NIF-IVA (VAT); DNI, NIE (individuals' NIF)
    US  EIN (companies; sole traders too); SSN, ITIN (individuals)
    JP  法人番号 corporate number (registration); invoice number T + corporate number (tax id)
    EU  any other member state's VAT number (eu.vat), prefixed with the seller's country
    —   elsewhere: letters and digits, compacted, format only
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from stdnum import exceptions as stdnum_errors
from stdnum.es import cif as es_cif
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.eu import vat as eu_vat
from stdnum.fr import nif as fr_nif
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.jp import cn as jp_cn
from stdnum.us import ein as us_ein
from stdnum.us import itin as us_itin
from stdnum.us import ssn as us_ssn

from sellerpay.errors import InvalidInput
from sellerpay.onboarding.rules import BusinessType

__all__ = [
    "InvalidTaxId",
    "Scheme",
    "TaxIdReason",
    "check_vat_matches_registration",
    "registration_schemes",
    "tax_id_schemes",
    "validate",
    "validate_registration_number",
    "validate_tax_id",
]

tax_id_length_max: Final = 64
free_form_length_max: Final = 32

_EU_MEMBER_STATES: Final = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
)
EU_COUNTRIES: Final = frozenset(_EU_MEMBER_STATES.split())
_VAT_PREFIX: Final = {"GR": "EL"}  # Greece's VAT numbers start with EL


class Scheme(StrEnum):
    """How a number is checked (the python-stdnum module, or our own `free` format)."""

    FR_SIREN = "fr.siren"
    FR_SIRET = "fr.siret"
    FR_VAT = "fr.tva"
    FR_NIF = "fr.nif"
    ES_CIF = "es.cif"
    ES_DNI = "es.dni"
    ES_NIE = "es.nie"
    ES_VAT = "es.vat"
    US_EIN = "us.ein"
    US_SSN = "us.ssn"
    US_ITIN = "us.itin"
    JP_CN = "jp.cn"
    JP_INVOICE = "jp.invoice"
    EU_VAT = "eu.vat"
    FREE = "free"


class TaxIdReason(StrEnum):
    """Why a number was refused; the error's code is named after it."""

    CHECK_DIGIT = "check_digit_mismatch"  # well formed, but the check digit is wrong
    LENGTH = "invalid_length"  # too few or too many characters
    FORMAT = "invalid_format"  # characters that do not belong (letters where digits go…)
    COMPONENT = "invalid_component"  # a part that cannot exist (EIN prefix 00, SSN area 666…)
    COUNTRY = "country_mismatch"  # a VAT number of another country
    MISMATCH = "vat_registration_mismatch"  # the VAT number is not the registration number's


class InvalidTaxId(InvalidInput):
    """A tax or company id that is not valid; `code` is the `TaxIdReason`, and the context names
    the `field`, the `scheme` it was checked against and the `reason`."""

    def __init__(self, detail: str, *, field: str, scheme: Scheme, reason: TaxIdReason) -> None:
        super().__init__(
            detail, code=reason.value, field=field, scheme=scheme.value, reason=reason.value
        )
        self.field = field
        self.scheme = scheme
        self.reason = reason


_STDNUM_REASONS: Final[tuple[tuple[type[Exception], TaxIdReason], ...]] = (
    (stdnum_errors.InvalidChecksum, TaxIdReason.CHECK_DIGIT),
    (stdnum_errors.InvalidLength, TaxIdReason.LENGTH),
    (stdnum_errors.InvalidFormat, TaxIdReason.FORMAT),
    (stdnum_errors.InvalidComponent, TaxIdReason.COMPONENT),
)
_REASON_TEXT: Final = {
    TaxIdReason.CHECK_DIGIT: "its check digit is wrong",
    TaxIdReason.LENGTH: "it has the wrong number of characters",
    TaxIdReason.FORMAT: "it has characters that do not belong in it",
    TaxIdReason.COMPONENT: "a part of it cannot exist",
    TaxIdReason.COUNTRY: "it is a number of another country",
    TaxIdReason.MISMATCH: "it is not the VAT number of the registration number given",
}
_LABEL: Final = {
    Scheme.FR_SIREN: "SIREN",
    Scheme.FR_SIRET: "SIRET",
    Scheme.FR_VAT: "French VAT number",
    Scheme.FR_NIF: "French tax number (numéro fiscal)",
    Scheme.ES_CIF: "CIF",
    Scheme.ES_DNI: "DNI",
    Scheme.ES_NIE: "NIE",
    Scheme.ES_VAT: "Spanish VAT number",
    Scheme.US_EIN: "EIN",
    Scheme.US_SSN: "SSN",
    Scheme.US_ITIN: "ITIN",
    Scheme.JP_CN: "corporate number (法人番号)",
    Scheme.JP_INVOICE: "invoice registration number (T + 法人番号)",
    Scheme.EU_VAT: "EU VAT number",
    Scheme.FREE: "number",
}


def _stdnum(validate: Callable[[str], str]) -> Callable[[str, str], str]:
    return lambda value, _country: str(validate(value))


def _vat(value: str, country: str) -> str:
    """An EU VAT number of `country`, with its prefix (added when the seller left it out)."""
    prefix = _VAT_PREFIX.get(country, country)
    raw = "".join(ch for ch in value.upper() if ch not in " -.")
    if not raw[:2].isalpha():
        raw = prefix + raw
    if raw[:2] != prefix:
        raise _CountryMismatch
    return str(eu_vat.validate(raw))


def _jp_invoice(value: str, _country: str) -> str:
    compact = "".join(value.split()).replace("-", "").upper()
    if not compact.startswith("T"):
        raise stdnum_errors.InvalidFormat()
    return "T" + str(jp_cn.validate(compact[1:]))


def _free(value: str, _country: str) -> str:
    compact = "".join(ch for ch in value.upper() if ch not in " -./")
    if not 1 <= len(compact) <= free_form_length_max:
        raise stdnum_errors.InvalidLength()
    if not compact.isascii() or not compact.isalnum():
        raise stdnum_errors.InvalidFormat()
    return compact


class _CountryMismatch(Exception):
    """A VAT number prefixed with another country's code."""


_VALIDATORS: Final[Mapping[Scheme, Callable[[str, str], str]]] = {
    Scheme.FR_SIREN: _stdnum(fr_siren.validate),
    Scheme.FR_SIRET: _stdnum(fr_siret.validate),
    Scheme.FR_VAT: lambda value, _c: _vat(value, "FR"),
    Scheme.FR_NIF: _stdnum(fr_nif.validate),
    Scheme.ES_CIF: _stdnum(es_cif.validate),
    Scheme.ES_DNI: _stdnum(es_dni.validate),
    Scheme.ES_NIE: _stdnum(es_nie.validate),
    Scheme.ES_VAT: lambda value, _c: _vat(value, "ES"),
    Scheme.US_EIN: _stdnum(us_ein.validate),
    Scheme.US_SSN: _stdnum(us_ssn.validate),
    Scheme.US_ITIN: _stdnum(us_itin.validate),
    Scheme.JP_CN: _stdnum(jp_cn.validate),
    Scheme.JP_INVOICE: _jp_invoice,
    Scheme.EU_VAT: _vat,
    Scheme.FREE: _free,
}


def validate(scheme: Scheme, value: str, *, field: str, country: str = "") -> str:
    """`value` checked against `scheme` and returned compact (`732 829 320` → `732829320`,
    VAT numbers with their country prefix); `InvalidTaxId` naming `field` and the reason."""
    label = _LABEL[scheme]
    try:
        return _VALIDATORS[scheme](value[:tax_id_length_max], country)
    except _CountryMismatch:
        reason = TaxIdReason.COUNTRY
    except stdnum_errors.ValidationError as error:
        reason = next(
            (r for kind, r in _STDNUM_REASONS if isinstance(error, kind)), TaxIdReason.FORMAT
        )
    raise InvalidTaxId(
        f"{field}: not a valid {label}: {_REASON_TEXT[reason]}",
        field=field,
        scheme=scheme,
        reason=reason,
    )


def validate_any(schemes: tuple[Scheme, ...], value: str, *, field: str, country: str) -> str:
    """`value` valid under one of `schemes` (the first that accepts it), else the error of the
    scheme it came closest to: the first whose length was right, or else the first one."""
    if len(value) > tax_id_length_max:
        raise InvalidTaxId(
            f"{field}: at most {tax_id_length_max} characters",
            field=field,
            scheme=schemes[0],
            reason=TaxIdReason.LENGTH,
        )
    errors: list[InvalidTaxId] = []
    for scheme in schemes:
        try:
            return validate(scheme, value, field=field, country=country)
        except InvalidTaxId as error:
            errors.append(error)
    closest = next((e for e in errors if e.reason is not TaxIdReason.LENGTH), errors[0])
    if len(schemes) > 1:
        names = " or ".join(_LABEL[s] for s in schemes)
        closest.detail = f"{closest.detail} (expected a {names})"
        closest.args = (closest.detail,)
    raise closest


# --- which scheme for which seller -------------------------------------------------------------

_B = BusinessType
_BUSINESSES: Final = (_B.COMPANY, _B.NON_PROFIT)


@dataclass(frozen=True, slots=True)
class _Schemes:
    registration: Mapping[BusinessType, tuple[Scheme, ...]]
    tax_id: Mapping[BusinessType, tuple[Scheme, ...]]


_BY_COUNTRY: Final[Mapping[str, _Schemes]] = {
    "FR": _Schemes(
        registration=dict.fromkeys(
            (*_BUSINESSES, _B.SOLE_TRADER), (Scheme.FR_SIREN, Scheme.FR_SIRET)
        ),
        tax_id={
            _B.INDIVIDUAL: (Scheme.FR_NIF,),
            _B.SOLE_TRADER: (Scheme.FR_VAT, Scheme.FR_NIF),
            _B.COMPANY: (Scheme.FR_VAT,),
            _B.NON_PROFIT: (Scheme.FR_VAT,),
        },
    ),
    "ES": _Schemes(
        registration=dict.fromkeys(_BUSINESSES, (Scheme.ES_CIF,)),
        tax_id={
            _B.INDIVIDUAL: (Scheme.ES_DNI, Scheme.ES_NIE),
            _B.SOLE_TRADER: (Scheme.ES_DNI, Scheme.ES_NIE),
            _B.COMPANY: (Scheme.ES_VAT, Scheme.ES_CIF),
            _B.NON_PROFIT: (Scheme.ES_VAT, Scheme.ES_CIF),
        },
    ),
    "US": _Schemes(
        registration=dict.fromkeys((*_BUSINESSES, _B.SOLE_TRADER), (Scheme.US_EIN,)),
        tax_id={
            _B.INDIVIDUAL: (Scheme.US_SSN, Scheme.US_ITIN),
            _B.SOLE_TRADER: (Scheme.US_SSN, Scheme.US_ITIN, Scheme.US_EIN),
            _B.COMPANY: (Scheme.US_EIN,),
            _B.NON_PROFIT: (Scheme.US_EIN,),
        },
    ),
    "JP": _Schemes(
        registration=dict.fromkeys(_BUSINESSES, (Scheme.JP_CN,)),
        tax_id=dict.fromkeys(_BUSINESSES, (Scheme.JP_INVOICE,)),
    ),
}


def registration_schemes(country: str, business_type: BusinessType) -> tuple[Scheme, ...]:
    """How a seller's registration number is checked (free form where no scheme is known)."""
    schemes = _BY_COUNTRY.get(country)
    found = schemes.registration.get(business_type) if schemes else None
    return found or (Scheme.FREE,)


def tax_id_schemes(country: str, business_type: BusinessType) -> tuple[Scheme, ...]:
    """How a seller's tax id is checked: the country's schemes, an EU VAT number in other
    member states, else free form."""
    schemes = _BY_COUNTRY.get(country)
    if schemes is not None:
        return schemes.tax_id.get(business_type) or (Scheme.FREE,)
    return (Scheme.EU_VAT,) if country in EU_COUNTRIES else (Scheme.FREE,)


def validate_registration_number(
    value: str, *, country: str, business_type: BusinessType, field: str
) -> str:
    return validate_any(
        registration_schemes(country, business_type), value, field=field, country=country
    )


def validate_tax_id(value: str, *, country: str, business_type: BusinessType, field: str) -> str:
    return validate_any(tax_id_schemes(country, business_type), value, field=field, country=country)


def check_vat_matches_registration(
    *, country: str, registration_number: str | None, tax_id: str | None, field: str
) -> None:
    """A French VAT number carries the company's SIREN, a Spanish one its CIF: refuse a VAT
    number of another company (both already valid and compact)."""
    if registration_number is None or tax_id is None:
        return
    if country == "FR" and tax_id.startswith("FR"):
        matches = tax_id[4:] == registration_number[:9]
    elif country == "ES" and tax_id.startswith("ES"):
        matches = tax_id[2:] == registration_number
    else:
        return
    if not matches:
        raise InvalidTaxId(
            f"{field}: {_REASON_TEXT[TaxIdReason.MISMATCH]} ({registration_number})",
            field=field,
            scheme=Scheme.FR_VAT if country == "FR" else Scheme.ES_VAT,
            reason=TaxIdReason.MISMATCH,
        )
