"""Pure rules of sellers' bank accounts: validate and normalise each format, mask, pick the rail.

Four formats, each checked as its bank would, so that a payout is never sent to an account
number that cannot exist:

- `iban` (country: the IBAN's; rail `sepa` for EUR in the SEPA zone): the ISO 13616 check
  digits, the country's length and structure, the national check digits where schwifty knows
  them; the BIC's format, its country against the IBAN's, and its bank against the IBAN's
  bank code when schwifty's registry knows that bank.
- `aba` (US; `ach` for USD): routing number of 9 digits with the 3-7-1 check digit and a
  Federal Reserve prefix; account number of 4 to 17 digits; checking or savings.
- `uk` (GB; `bacs` for GBP): sort code of 6 digits (`12-34-56` accepted); account number of 8
  digits, 6 or 7 zero-padded on the left (the UK convention).
- `zengin` (JP; `zengin` for JPY): bank code 4 digits, branch code 3, ordinary (普通) or
  current (当座), account number up to 7 digits zero-padded; the holder's name in half-width
  katakana.

Every refusal is an `InvalidBankAccount` naming the field at fault (`iban`, `bic`,
`routing_number`, `account_number`, `account_type`, `sort_code`, `bank_code`, `branch_code`,
`holder_name`, `currency`). Messages never repeat an account number: they may be logged or
shown to someone other than its owner. No I/O, no clock, no settings.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Final, Literal

import jaconv
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from unidecode import unidecode

from sellerpay.errors import InvalidInput, InvariantViolation
from sellerpay.rails.instructions import (
    AbaAccount,
    BankAccountDetails,
    IbanAccount,
    RailName,
    UkAccount,
    ZenginAccount,
)

__all__ = [
    "BankAccountFormat",
    "BankAccountStatus",
    "InvalidBankAccount",
    "account_identifier",
    "bank_identifier",
    "clean_holder_name",
    "country_of",
    "details_document",
    "details_from_document",
    "format_of",
    "mask",
    "masked",
    "normalise_holder_name",
    "rail_for",
    "validate_aba",
    "validate_details",
    "validate_iban",
    "validate_uk",
    "validate_zengin",
    "visible_tail",
    "zengin_account_type",
    "zengin_holder_name",
]

holder_name_length_max: Final = 140  # ISO 20022 Max140Text
zengin_holder_name_length_max: Final = 30  # the 受取人名 field of a Zengin data record
input_length_max: Final = 64  # any raw field longer than this is refused before parsing
mask_prefix: Final = "•••• "
tail_length_max: Final = 4


class BankAccountFormat(StrEnum):
    IBAN = "iban"
    ABA = "aba"
    UK = "uk"
    ZENGIN = "zengin"


class BankAccountStatus(StrEnum):
    """`active`: usable. `replaced`: it was the default and a newer account added as the
    default took its place (kept for history and returns). `disabled`: removed by the seller
    or by staff, or after a bank return that means the account is closed or wrong. Only an
    active account may be the default; replaced and disabled are final."""

    ACTIVE = "active"
    DISABLED = "disabled"
    REPLACED = "replaced"


class InvalidBankAccount(InvalidInput):
    """Bank account details that no bank would accept; `field` names the one at fault."""

    default_code = "invalid_bank_account"

    def __init__(self, detail: str, *, code: str, field: str, **context: Any) -> None:
        super().__init__(detail, code=code, field=field, **context)
        self.field = field


# --- input hygiene -------------------------------------------------------------------------

_SEPARATORS: Final = re.compile("[\\s\\-\u2010\u2011\u2013\u2014\u2212]")  # spaces, hyphens, dashes


def _compact(text: str, *, field: str) -> str:
    """NFKC (full-width digits and letters become ASCII), spaces and hyphens removed."""
    if len(text) > input_length_max:
        raise InvalidBankAccount(
            f"{field} is longer than {input_length_max} characters",
            code=f"{field}_format",
            field=field,
        )
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))


def _digits(text: str, *, field: str, sizes: range, what: str) -> str:
    compact = _compact(text, field=field)
    if not (compact.isascii() and compact.isdigit() and len(compact) in sizes):
        raise InvalidBankAccount(f"{what}", code=f"{field}_format", field=field)
    return compact


# --- IBAN and BIC --------------------------------------------------------------------------

# IBAN countries whose banks may hold a BIC of another ISO country: French overseas
# departments and collectivities bank with FR IBANs, Monaco with French banks, the Crown
# Dependencies with GB IBANs, Åland with FI.
_BIC_COUNTRIES_OF_IBAN: Final[Mapping[str, frozenset[str]]] = {
    "FR": frozenset({"FR", "GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF", "MC"}),
    "MC": frozenset({"MC", "FR"}),
    "GB": frozenset({"GB", "JE", "GG", "IM"}),
    "FI": frozenset({"FI", "AX"}),
}


def validate_iban(iban: str, bic: str | None = None) -> IbanAccount:
    """The IBAN in electronic form (no spaces, upper case) and the BIC, both checked."""
    parsed = _parse_iban(iban)
    checked_bic = None
    if bic is not None and bic.strip():
        checked_bic = _check_bic(bic, parsed)
    return IbanAccount(iban=parsed.compact, bic=checked_bic)


def _parse_iban(text: str) -> IBAN:
    compact = _compact(text, field="iban").upper()
    try:
        return IBAN(compact, validate_bban=True)
    except schwifty_errors.InvalidChecksumDigits:
        detail, code = "the IBAN's check digits do not match: a character is mistyped", "digits"
    except schwifty_errors.InvalidLength:
        detail, code = _iban_length_detail(compact), "length"
    except schwifty_errors.InvalidCountryCode:
        detail, code = f"{compact[:2]!r} is not a country that issues IBANs", "country"
    except schwifty_errors.InvalidBBANChecksum:
        detail = "the IBAN's national check digits (the bank's own key) do not match"
        code = "national_check_digits"
    except schwifty_errors.SchwiftyException:
        detail, code = "the IBAN does not have the structure of its country's IBANs", "format"
    raise InvalidBankAccount(detail, code=f"iban_{code}", field="iban")


def _iban_length_detail(compact: str) -> str:
    try:
        expected = IBAN(compact, allow_invalid=True).spec.iban_length
    except (schwifty_errors.SchwiftyException, AttributeError):
        return "the IBAN has the wrong length for its country"
    return f"an IBAN of {compact[:2]} has {expected} characters, this one has {len(compact)}"


def _check_bic(text: str, iban: IBAN) -> str:
    compact = _compact(text, field="bic").upper()
    try:
        bic = BIC(compact, enforce_swift_compliance=True)
    except schwifty_errors.InvalidLength:
        raise InvalidBankAccount(
            "a BIC has 8 or 11 characters", code="bic_length", field="bic"
        ) from None
    except schwifty_errors.SchwiftyException:
        raise InvalidBankAccount(
            "a BIC is 4 letters (bank), 2 letters (country), 2 letters or digits (location) "
            "and optionally 3 letters or digits (branch)",
            code="bic_format",
            field="bic",
        ) from None
    allowed = _BIC_COUNTRIES_OF_IBAN.get(iban.country_code, frozenset({iban.country_code}))
    if bic.country_code not in allowed:
        raise InvalidBankAccount(
            f"the BIC is of a bank in {bic.country_code}, the IBAN of an account in "
            f"{iban.country_code}",
            code="bic_country_mismatch",
            field="bic",
        )
    known = _known_bank_bics(iban)
    # Compare the institution (bank + country): location and branch codes differ between a
    # bank's offices, and registries lag behind them.
    if known and bic.compact[:6] not in {candidate[:6] for candidate in known}:
        raise InvalidBankAccount(
            f"the BIC is not the bank's of this IBAN: bank code {iban.bank_code} is "
            f"{' or '.join(sorted(known))}",
            code="bic_bank_mismatch",
            field="bic",
        )
    return str(bic.compact)


def _known_bank_bics(iban: IBAN) -> set[str]:
    """The BICs schwifty's registry gives the IBAN's bank code (empty when it does not know)."""
    try:
        candidates = BIC.candidates_from_bank_code(iban.country_code, iban.bank_code)
    except schwifty_errors.SchwiftyException:
        return set()
    return {str(candidate.compact) for candidate in candidates}


# --- US: ABA routing number and account ----------------------------------------------------

# First two digits of a routing number that can receive ACH credits: Federal Reserve districts
# (01-12), thrifts (21-32) and electronic transactions (61-72). 00 is the US government, 80
# traveler's cheques: no seller's account has those.
_ABA_PREFIXES: Final = frozenset(range(1, 13)) | frozenset(range(21, 33)) | frozenset(range(61, 73))


def aba_check_digit_ok(routing_number: str) -> bool:
    """The 3-7-1 rule: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
    d = [int(c) for c in routing_number]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0


def validate_aba(
    routing_number: str, account_number: str, account_type: str = "checking"
) -> AbaAccount:
    """A US account: routing number (check digit, prefix), account number, checking/savings."""
    routing = _digits(
        routing_number,
        field="routing_number",
        sizes=range(9, 10),
        what="an ABA routing number has 9 digits",
    )
    if not aba_check_digit_ok(routing):
        raise InvalidBankAccount(
            "the routing number's check digit (3-7-1 rule) does not match: a digit is mistyped",
            code="routing_number_check_digit",
            field="routing_number",
        )
    if int(routing[:2]) not in _ABA_PREFIXES:
        raise InvalidBankAccount(
            f"routing numbers starting {routing[:2]} do not receive ACH credits "
            "(valid: 01-12, 21-32, 61-72)",
            code="routing_number_prefix",
            field="routing_number",
        )
    number = _digits(
        account_number,
        field="account_number",
        sizes=range(4, 18),
        what="a US account number has 4 to 17 digits",
    )
    _not_all_zeros(number)
    kind = account_type.strip().lower()
    if kind not in ("checking", "savings"):
        raise InvalidBankAccount(
            "account_type must be checking or savings", code="account_type", field="account_type"
        )
    return AbaAccount(
        routing_number=routing,
        account_number=number,
        account_type="checking" if kind == "checking" else "savings",
    )


def _not_all_zeros(number: str) -> None:
    if not number.strip("0"):
        raise InvalidBankAccount(
            "an account number cannot be all zeros",
            code="account_number_format",
            field="account_number",
        )


# --- UK: sort code and account number ------------------------------------------------------


def validate_uk(sort_code: str, account_number: str) -> UkAccount:
    """A UK account: the sort code as 6 digits, the account number as 8.

    Account numbers of 6 or 7 digits are padded with zeros on the left, as UK banks do. Numbers
    of 9 or 10 digits (some building societies, National Savings) are refused: each bank has
    its own rule to fold them into a sort code and 8 digits, which the seller's bank gives.
    Vocalink modulus checking is not done (it needs Vocalink's licensed weight table).
    """
    sort = _digits(
        sort_code,
        field="sort_code",
        sizes=range(6, 7),
        what="a sort code has 6 digits (12-34-56)",
    )
    number = _digits(
        account_number,
        field="account_number",
        sizes=range(6, 11),
        what="a UK account number has 8 digits (6 or 7 are padded with zeros)",
    )
    if len(number) > 8:
        raise InvalidBankAccount(
            "a UK account number for Bacs has 8 digits: ask the bank for the 8-digit form of "
            "this account (with its sort code)",
            code="account_number_format",
            field="account_number",
        )
    number = number.zfill(8)
    _not_all_zeros(number)
    return UkAccount(sort_code=sort, account_number=number)


# --- Japan: Zengin -------------------------------------------------------------------------

_ZENGIN_ACCOUNT_TYPES: Final[Mapping[str, Literal["ordinary", "current"]]] = {
    "ordinary": "ordinary",
    "普通": "ordinary",
    "current": "current",
    "当座": "current",
}


def zengin_account_type(text: str) -> Literal["ordinary", "current"]:
    """`ordinary` or `current`, also written 普通 or 当座 (預金種目 1 and 2)."""
    kind = _ZENGIN_ACCOUNT_TYPES.get(unicodedata.normalize("NFKC", text).strip().lower())
    if kind is None:
        raise InvalidBankAccount(
            "account_type must be ordinary (普通) or current (当座)",
            code="account_type",
            field="account_type",
        )
    return kind


def validate_zengin(
    bank_code: str, branch_code: str, account_number: str, account_type: str = "ordinary"
) -> ZenginAccount:
    """A Japanese account: bank code (4 digits), branch (3), type, number zero-padded to 7."""
    bank = _digits(
        bank_code, field="bank_code", sizes=range(4, 5), what="a Zengin bank code has 4 digits"
    )
    branch = _digits(
        branch_code,
        field="branch_code",
        sizes=range(3, 4),
        what="a Zengin branch code has 3 digits",
    )
    kind = zengin_account_type(account_type)
    number = _digits(
        account_number,
        field="account_number",
        sizes=range(1, 8),
        what="a Zengin account number has up to 7 digits",
    ).zfill(7)
    _not_all_zeros(number)
    return ZenginAccount(
        bank_code=bank, branch_code=branch, account_number=number, account_type=kind
    )


# --- any format ----------------------------------------------------------------------------


def validate_details(details: BankAccountDetails) -> BankAccountDetails:
    """The details checked and normalised by the rules of their format."""
    if isinstance(details, IbanAccount):
        return validate_iban(details.iban, details.bic)
    if isinstance(details, AbaAccount):
        return validate_aba(details.routing_number, details.account_number, details.account_type)
    if isinstance(details, UkAccount):
        return validate_uk(details.sort_code, details.account_number)
    return validate_zengin(
        details.bank_code, details.branch_code, details.account_number, details.account_type
    )


def format_of(details: BankAccountDetails) -> BankAccountFormat:
    if isinstance(details, IbanAccount):
        return BankAccountFormat.IBAN
    if isinstance(details, AbaAccount):
        return BankAccountFormat.ABA
    if isinstance(details, UkAccount):
        return BankAccountFormat.UK
    return BankAccountFormat.ZENGIN


def country_of(details: BankAccountDetails) -> str:
    """The ISO 3166 country of the account: the IBAN's, else the format's."""
    if isinstance(details, IbanAccount):
        return details.iban[:2]
    return {AbaAccount: "US", UkAccount: "GB", ZenginAccount: "JP"}[type(details)]


def account_identifier(details: BankAccountDetails) -> str:
    """The secret part: the whole IBAN, or the account number."""
    return details.iban if isinstance(details, IbanAccount) else details.account_number


def bank_identifier(details: BankAccountDetails) -> str | None:
    """The non-secret bank part, safe to store and show in clear: the BIC, the routing number,
    the sort code, or `bank-branch` for Zengin (None for an IBAN given without a BIC)."""
    if isinstance(details, IbanAccount):
        return details.bic
    if isinstance(details, AbaAccount):
        return details.routing_number
    if isinstance(details, UkAccount):
        return details.sort_code
    return f"{details.bank_code}-{details.branch_code}"


def visible_tail(identifier: str) -> str:
    """The end of an account identifier that may be shown: the last 4 characters, but never
    more than half of it (a 4-digit US account number shows 2, a 7-digit Zengin number 3)."""
    return identifier[len(identifier) - min(tail_length_max, len(identifier) // 2) :]


def masked(tail: str) -> str:
    """`•••• 4321`: how an account is shown everywhere (API, events, audit, logs)."""
    return mask_prefix + tail


def mask(details: BankAccountDetails) -> str:
    """The account as it may be shown: `•••• ` and at most its last 4 characters."""
    return masked(visible_tail(account_identifier(details)))


_RAILS: Final[Mapping[tuple[BankAccountFormat, str], RailName]] = {
    (BankAccountFormat.IBAN, "EUR"): "sepa",
    (BankAccountFormat.ABA, "USD"): "ach",
    (BankAccountFormat.UK, "GBP"): "bacs",
    (BankAccountFormat.ZENGIN, "JPY"): "zengin",
}


def rail_for(details: BankAccountDetails, currency: str) -> RailName:
    """The rail that pays `currency` to this account, or `InvalidBankAccount(no_rail)`.

    EUR to an IBAN of the SEPA zone → sepa; USD to an ABA account → ach; GBP to a UK account
    → bacs; JPY to a Zengin account → zengin.
    """
    account_format = format_of(details)
    rail = _RAILS.get((account_format, currency))
    if rail == "sepa" and not IBAN(account_identifier(details)).in_sepa_zone:
        raise InvalidBankAccount(
            f"{country_of(details)} is outside the SEPA zone: no rail pays EUR to this IBAN",
            code="no_rail",
            field="currency",
        )
    if rail is None:
        supported = ", ".join(f"{c} to {f.value}" for f, c in _RAILS)
        raise InvalidBankAccount(
            f"no rail pays {currency} to an {account_format.value} account (supported: "
            f"{supported})",
            code="no_rail",
            field="currency",
            currency=currency,
        )
    return rail


# --- the encrypted document ----------------------------------------------------------------


def details_document(details: BankAccountDetails) -> dict[str, str | None]:
    """The details as the JSON object that is encrypted at rest (`format` and the fields)."""
    return {"format": format_of(details).value, **dataclasses.asdict(details)}


_CLASSES: Final[Mapping[str, Callable[..., BankAccountDetails]]] = {
    BankAccountFormat.IBAN: IbanAccount,
    BankAccountFormat.ABA: AbaAccount,
    BankAccountFormat.UK: UkAccount,
    BankAccountFormat.ZENGIN: ZenginAccount,
}


def details_from_document(document: Mapping[str, Any]) -> BankAccountDetails:
    """The details back from their decrypted document (written by `details_document`)."""
    fields = dict(document)
    cls = _CLASSES.get(str(fields.pop("format", "")))
    if cls is None:
        raise InvariantViolation("a decrypted bank account document has no known format")
    try:
        return cls(**fields)
    except TypeError:
        raise InvariantViolation(
            "a decrypted bank account document has other fields than its format's"
        ) from None


# --- holder names --------------------------------------------------------------------------

_IDEOGRAPHS: Final = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")


def _is_kanji(char: str) -> bool:
    """Ideographs, and the marks written with them (々 〆 and the ideographic zero)."""
    return unicodedata.name(char, "").startswith(_IDEOGRAPHS) or char in "々〆\u3007"


def clean_holder_name(name: str, *, account_format: BankAccountFormat) -> str:
    """The holder's name as stored and sent: Zengin's half-width katakana for Zengin accounts,
    otherwise the name as given with its spaces collapsed (rails transliterate it to their own
    character sets when they write a bank file)."""
    if account_format is BankAccountFormat.ZENGIN:
        return zengin_holder_name(name)
    text = " ".join(unicodedata.normalize("NFC", name).split())
    if not text:
        raise InvalidBankAccount(
            "the holder's name is required", code="holder_name_required", field="holder_name"
        )
    if len(text) > holder_name_length_max:
        raise InvalidBankAccount(
            f"the holder's name is at most {holder_name_length_max} characters",
            code="holder_name_length",
            field="holder_name",
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in text):
        raise InvalidBankAccount(
            "the holder's name contains control characters",
            code="holder_name_character",
            field="holder_name",
        )
    if not any(unicodedata.category(c).startswith("L") for c in text):
        raise InvalidBankAccount(
            "the holder's name has no letters", code="holder_name_character", field="holder_name"
        )
    return text


# Characters of a Zengin name field (全銀協制定文字): half-width katakana without the small
# ones, the (semi-)voiced marks, A-Z, 0-9, space and a few signs.
_ZENGIN_NAME_CHARACTERS: Final = frozenset(
    "ｦｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝﾞﾟABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ().,-/\\｢｣"
)
# Banks take small kana as large ones (ｷｬ → ｷﾔ) and the long vowel mark as a hyphen; the
# obsolete ヰ and ヱ have no half-width form and are written イ and エ.
_ZENGIN_FULL_WIDTH: Final = str.maketrans({"ヰ": "イ", "ヱ": "エ", "ヵ": "カ", "ヶ": "ケ"})
_ZENGIN_HALF_WIDTH: Final = str.maketrans(
    dict(zip("ｧｨｩｪｫｬｭｮｯｰ･\u3000", "ｱｲｳｴｵﾔﾕﾖﾂ-  ", strict=True))
)


def zengin_holder_name(name: str) -> str:
    """The name in Zengin's character set: hiragana, full-width katakana and full-width
    letters and digits become half-width (やまだ たろう → ﾔﾏﾀﾞ ﾀﾛｳ); letters are upper-cased.
    Kanji are refused: their reading cannot be guessed, the seller gives it."""
    kanji = list(dict.fromkeys(c for c in name if _is_kanji(c)))  # in order of appearance
    if kanji:
        raise InvalidBankAccount(
            f"the holder's name has kanji ({''.join(kanji[:5])}): give the name's reading in "
            "kana (フリガナ), as the bank has it, e.g. ﾔﾏﾀﾞ ﾀﾛｳ",
            code="holder_name_kanji",
            field="holder_name",
        )
    text = jaconv.enlarge_smallkana(jaconv.hira2kata(name).translate(_ZENGIN_FULL_WIDTH))
    text = jaconv.z2h(text, kana=True, ascii=True, digit=True).translate(_ZENGIN_HALF_WIDTH)
    text = " ".join(text.upper().split())
    if not text:
        raise InvalidBankAccount(
            "the holder's name is required", code="holder_name_required", field="holder_name"
        )
    refused = list(dict.fromkeys(c for c in text if c not in _ZENGIN_NAME_CHARACTERS))
    if refused:
        raise InvalidBankAccount(
            f"the holder's name has characters a Zengin transfer cannot carry: "
            f"{' '.join(refused[:5])} (use kana, A-Z, 0-9, space and ().,-/)",
            code="holder_name_character",
            field="holder_name",
        )
    if len(text) > zengin_holder_name_length_max:
        raise InvalidBankAccount(
            f"the holder's name in half-width kana is {len(text)} characters; a Zengin "
            f"transfer carries at most {zengin_holder_name_length_max} (voiced marks count)",
            code="holder_name_length",
            field="holder_name",
        )
    return text


_NOT_NAME: Final = re.compile(r"[^A-Z0-9\u30a1-\u30fa]+")


def normalise_holder_name(name: str) -> str:
    """A key to compare holder names by, the same however the name was typed: case, accents,
    spacing and punctuation, full- or half-width, hiragana or katakana, small or large kana
    (`Élodie  Dupont-Martin` and `ELODIE DUPONT MARTIN`, `ﾔﾏﾀﾞ ﾀﾛｳ` and `やまだ たろう`).

    Kana stay kana and other scripts are transliterated (unidecode): comparing a Latin name
    with a kana reading is fuzzy matching, not this key's job.
    """
    text = jaconv.enlarge_smallkana(jaconv.hira2kata(unicodedata.normalize("NFKC", name)))
    text = "".join(c if "\u30a1" <= c <= "\u30fa" else unidecode(c) for c in text)
    return " ".join(_NOT_NAME.sub(" ", text.upper()).split())
