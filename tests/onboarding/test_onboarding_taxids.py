"""Tax and company ids per country: tables of valid numbers (with their compact form) and of
invalid ones with the reason each is refused. The check digits of the valid ones are computed
here again, independently of python-stdnum, for the schemes whose algorithm is short."""

from __future__ import annotations

import pytest

from sellerpay.onboarding.rules import BusinessType
from sellerpay.onboarding.taxids import (
    InvalidTaxId,
    Scheme,
    TaxIdReason,
    check_vat_matches_registration,
    validate,
    validate_registration_number,
    validate_tax_id,
)

B = BusinessType

VALID: list[tuple[Scheme, str, str, str]] = [
    # scheme, as typed, seller's country, compact
    (Scheme.FR_SIREN, "732 829 320", "FR", "732829320"),
    (Scheme.FR_SIREN, "552100554", "FR", "552100554"),
    (Scheme.FR_SIREN, "443 061 841", "FR", "443061841"),
    (Scheme.FR_SIRET, "732 829 320 00074", "FR", "73282932000074"),
    (Scheme.FR_SIRET, "55210055400013", "FR", "55210055400013"),
    (Scheme.FR_VAT, "FR 44 732829320", "FR", "FR44732829320"),
    (Scheme.FR_VAT, "fr40303265045", "FR", "FR40303265045"),
    (Scheme.FR_VAT, "44732829320", "FR", "FR44732829320"),  # the prefix is added
    (Scheme.FR_NIF, "30 23 217 600 053", "FR", "3023217600053"),
    (Scheme.ES_CIF, "B-58378431", "ES", "B58378431"),
    (Scheme.ES_CIF, "A13585625", "ES", "A13585625"),
    (Scheme.ES_DNI, "54362315-K", "ES", "54362315K"),
    (Scheme.ES_DNI, "12345678Z", "ES", "12345678Z"),
    (Scheme.ES_NIE, "X-2482300-W", "ES", "X2482300W"),
    (Scheme.ES_NIE, "Z1234567R", "ES", "Z1234567R"),
    (Scheme.ES_VAT, "ES B58378431", "ES", "ESB58378431"),
    (Scheme.ES_VAT, "ESA13585625", "ES", "ESA13585625"),
    (Scheme.US_EIN, "91-1144442", "US", "911144442"),
    (Scheme.US_EIN, "04-2103594", "US", "042103594"),
    (Scheme.US_SSN, "536-90-4399", "US", "536904399"),
    (Scheme.US_ITIN, "912-70-3456", "US", "912703456"),
    (Scheme.JP_CN, "5-8356-7825-6246", "JP", "5835678256246"),
    (Scheme.JP_CN, "7000012050002", "JP", "7000012050002"),
    (Scheme.JP_INVOICE, "T7000012050002", "JP", "T7000012050002"),
    (Scheme.EU_VAT, "DE 136,695,976", "DE", "DE136695976"),
    (Scheme.EU_VAT, "IT00743110157", "IT", "IT00743110157"),
    (Scheme.EU_VAT, "NL004495445B01", "NL", "NL004495445B01"),
    (Scheme.EU_VAT, "BE 0403.170.701", "BE", "BE0403170701"),
    (Scheme.EU_VAT, "094259216", "GR", "EL094259216"),  # Greece's prefix is EL
    (Scheme.FREE, "abc-123/45", "BR", "ABC12345"),
]

INVALID: list[tuple[Scheme, str, str, TaxIdReason]] = [
    (Scheme.FR_SIREN, "732829321", "FR", TaxIdReason.CHECK_DIGIT),
    (Scheme.FR_SIREN, "73282932", "FR", TaxIdReason.LENGTH),
    (Scheme.FR_SIREN, "73282932A", "FR", TaxIdReason.FORMAT),
    (Scheme.FR_SIRET, "73282932000075", "FR", TaxIdReason.CHECK_DIGIT),
    (Scheme.FR_VAT, "FR41303265045", "FR", TaxIdReason.CHECK_DIGIT),
    (Scheme.FR_VAT, "DE136695976", "FR", TaxIdReason.COUNTRY),
    (Scheme.FR_NIF, "3023217600054", "FR", TaxIdReason.CHECK_DIGIT),
    (Scheme.FR_NIF, "302321760005", "FR", TaxIdReason.LENGTH),
    (Scheme.ES_CIF, "B58378432", "ES", TaxIdReason.CHECK_DIGIT),
    (Scheme.ES_DNI, "54362315Z", "ES", TaxIdReason.CHECK_DIGIT),
    (Scheme.ES_VAT, "FRA13585625", "ES", TaxIdReason.COUNTRY),
    (Scheme.US_EIN, "00-1234567", "US", TaxIdReason.COMPONENT),  # no campus uses prefix 00
    (Scheme.US_EIN, "12-34567AB", "US", TaxIdReason.FORMAT),
    (Scheme.US_SSN, "666-12-3456", "US", TaxIdReason.COMPONENT),  # area 666 is never issued
    (Scheme.US_SSN, "078-05-1120", "US", TaxIdReason.COMPONENT),  # the Woolworth wallet SSN
    (Scheme.US_ITIN, "912-00-3456", "US", TaxIdReason.COMPONENT),
    (Scheme.US_ITIN, "123-45-6789", "US", TaxIdReason.COMPONENT),  # ITINs start with 9
    (Scheme.JP_CN, "5835678256247", "JP", TaxIdReason.CHECK_DIGIT),
    (Scheme.JP_CN, "583567825624", "JP", TaxIdReason.LENGTH),
    (Scheme.JP_INVOICE, "7000012050002", "JP", TaxIdReason.FORMAT),  # the T is missing
    (Scheme.EU_VAT, "DE136695977", "DE", TaxIdReason.CHECK_DIGIT),
    (Scheme.EU_VAT, "FR44732829320", "DE", TaxIdReason.COUNTRY),
    (Scheme.FREE, "ÄBC", "BR", TaxIdReason.FORMAT),
    (Scheme.FREE, "A" * 33, "BR", TaxIdReason.LENGTH),
]


@pytest.mark.parametrize(("scheme", "typed", "country", "compact"), VALID)
def test_valid_numbers_are_accepted_in_compact_form(
    scheme: Scheme, typed: str, country: str, compact: str
) -> None:
    assert validate(scheme, typed, field="body.tax_id", country=country) == compact


@pytest.mark.parametrize(("scheme", "typed", "country", "reason"), INVALID)
def test_invalid_numbers_are_refused_with_the_field_and_the_reason(
    scheme: Scheme, typed: str, country: str, reason: TaxIdReason
) -> None:
    with pytest.raises(InvalidTaxId) as refused:
        validate(scheme, typed, field="body.registration_number", country=country)

    error = refused.value
    assert (error.reason, error.code, error.scheme) == (reason, reason.value, scheme)
    assert error.context == {
        "field": "body.registration_number",
        "scheme": scheme.value,
        "reason": reason.value,
    }
    assert error.detail.startswith("body.registration_number: not a valid")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _jp_corporate_number_ok(number: str) -> bool:
    """法人番号: the first digit is 9 - (Σ digit x (1 or 2 alternating from the right)) mod 9."""
    body = number[1:]
    weighted = sum(int(d) * (1 if i % 2 == 0 else 2) for i, d in enumerate(reversed(body)))
    return int(number[0]) == 9 - weighted % 9


def _fr_vat_key_ok(vat: str) -> bool:
    return int(vat[2:4]) == (12 + 3 * (int(vat[4:]) % 97)) % 97


def test_the_tables_check_digits_hold_by_an_independent_computation() -> None:
    compacts = {(scheme, compact) for scheme, _, _, compact in VALID}
    sirens = [c for s, c in compacts if s in (Scheme.FR_SIREN, Scheme.FR_SIRET)]
    japanese = [c.removeprefix("T") for s, c in compacts if s in (Scheme.JP_CN, Scheme.JP_INVOICE)]
    french_vat = [c for s, c in compacts if s is Scheme.FR_VAT]

    assert sirens and all(_luhn_ok(n) for n in sirens)
    assert japanese and all(_jp_corporate_number_ok(n) for n in japanese)
    assert french_vat and all(_fr_vat_key_ok(n) for n in french_vat)
    assert not _luhn_ok("732829321") and not _jp_corporate_number_ok("5835678256247")


@pytest.mark.parametrize(
    ("country", "business_type", "typed", "compact"),
    [
        ("FR", B.COMPANY, "732 829 320", "732829320"),
        ("FR", B.COMPANY, "73282932000074", "73282932000074"),  # a SIRET will do
        ("FR", B.SOLE_TRADER, "552 100 554", "552100554"),
        ("ES", B.COMPANY, "B58378431", "B58378431"),
        ("US", B.COMPANY, "91-1144442", "911144442"),
        ("JP", B.COMPANY, "7000012050002", "7000012050002"),
        ("DE", B.COMPANY, "HRB 86891", "HRB86891"),  # no scheme: free form
    ],
)
def test_registration_numbers_are_checked_by_the_sellers_country_and_type(
    country: str, business_type: BusinessType, typed: str, compact: str
) -> None:
    assert (
        validate_registration_number(
            typed, country=country, business_type=business_type, field="body.registration_number"
        )
        == compact
    )


@pytest.mark.parametrize(
    ("country", "business_type", "typed", "compact"),
    [
        ("FR", B.INDIVIDUAL, "3023217600053", "3023217600053"),
        ("FR", B.COMPANY, "FR44732829320", "FR44732829320"),
        ("FR", B.SOLE_TRADER, "3023217600053", "3023217600053"),
        ("ES", B.INDIVIDUAL, "X2482300W", "X2482300W"),
        ("ES", B.INDIVIDUAL, "54362315K", "54362315K"),
        ("ES", B.COMPANY, "ESB58378431", "ESB58378431"),
        ("ES", B.COMPANY, "B58378431", "ESB58378431"),  # a company's CIF is its VAT number
        ("US", B.INDIVIDUAL, "536-90-4399", "536904399"),
        ("US", B.INDIVIDUAL, "912-70-3456", "912703456"),
        ("US", B.SOLE_TRADER, "91-1144442", "911144442"),
        ("JP", B.COMPANY, "T7000012050002", "T7000012050002"),
        ("DE", B.COMPANY, "DE136695976", "DE136695976"),
        ("DE", B.INDIVIDUAL, "136695976", "DE136695976"),
    ],
)
def test_tax_ids_are_checked_by_the_sellers_country_and_type(
    country: str, business_type: BusinessType, typed: str, compact: str
) -> None:
    assert (
        validate_tax_id(typed, country=country, business_type=business_type, field="body.tax_id")
        == compact
    )


@pytest.mark.parametrize(
    ("country", "business_type", "typed", "reason"),
    [
        ("FR", B.COMPANY, "3023217600053", TaxIdReason.LENGTH),  # a person's, not a VAT number
        ("ES", B.INDIVIDUAL, "B58378431", TaxIdReason.FORMAT),  # a company's CIF
        ("US", B.INDIVIDUAL, "91-1144442", TaxIdReason.FORMAT),  # an EIN
        ("US", B.COMPANY, "536-90-4399", TaxIdReason.FORMAT),  # an SSN
        ("FR", B.INDIVIDUAL, "3023217600054", TaxIdReason.CHECK_DIGIT),
    ],
)
def test_the_wrong_kind_of_number_for_the_seller_is_refused(
    country: str, business_type: BusinessType, typed: str, reason: TaxIdReason
) -> None:
    with pytest.raises(InvalidTaxId) as refused:
        validate_tax_id(typed, country=country, business_type=business_type, field="body.tax_id")

    assert refused.value.reason is reason
    assert refused.value.context["field"] == "body.tax_id"


def test_among_several_schemes_the_error_of_the_closest_one_is_given() -> None:
    with pytest.raises(InvalidTaxId) as refused:  # 9 digits: a SIREN, with a bad check digit
        validate_registration_number(
            "732829321", country="FR", business_type=B.COMPANY, field="body.registration_number"
        )

    assert refused.value.reason is TaxIdReason.CHECK_DIGIT
    assert "SIREN or SIRET" in refused.value.detail


def test_a_vat_number_must_be_the_one_of_the_registration_number_given() -> None:
    check_vat_matches_registration(
        country="FR", registration_number="732829320", tax_id="FR44732829320", field="body.tax_id"
    )
    check_vat_matches_registration(  # a SIRET carries the SIREN in its first nine digits
        country="FR", registration_number="73282932000074", tax_id="FR44732829320", field="f"
    )
    with pytest.raises(InvalidTaxId) as refused:
        check_vat_matches_registration(
            country="FR",
            registration_number="552100554",
            tax_id="FR44732829320",
            field="body.tax_id",
        )
    with pytest.raises(InvalidTaxId):
        check_vat_matches_registration(
            country="ES", registration_number="A13585625", tax_id="ESB58378431", field="f"
        )

    assert refused.value.reason is TaxIdReason.MISMATCH
    assert refused.value.code == "vat_registration_mismatch"


def test_absurdly_long_input_is_refused_before_any_parsing() -> None:
    with pytest.raises(InvalidTaxId) as refused:
        validate_tax_id("1" * 10_000, country="FR", business_type=B.COMPANY, field="body.tax_id")

    assert refused.value.reason is TaxIdReason.LENGTH
