"""Pure rules of sanctions screening: list entries, name normalisation, the match score and its
reasons, the blocking index that keeps screening fast, and the precision/recall evaluation.

No I/O and no clock: parsers (`screening.lists`) build `ListEntry` values, the service stores
them and calls `ScreeningIndex.screen` with plain `Party` values.

How a party is scored against an entry (docs/screening.md has the measurements):

1. Every name is normalised: NFKC; Japanese legal forms (株式会社…) removed; kana turned into
   romaji (jaconv; Hepburn long vowels shortened, and kept in a second form); everything else
   transliterated to ASCII (unidecode: Cyrillic, Arabic, kanji…); case folded; punctuation
   removed; titles, legal forms (LLC, LTD, SA, SARL, GmbH, OOO…) and articles dropped, never
   every token. A part in brackets is screened on its own too.
2. The name score uses rapidfuzz on the normalised names: the token alignment (each token of
   the shorter name paired with a distinct token of the longer one by `fuzz.ratio`, or by an
   equal consonant skeleton for transliteration variants; weighted by length; lowered a little
   for tokens of the longer name left over, by up to half when a token of the shorter name has
   no good partner, and for a one-token name against a longer one). Names split or joined
   differently also get `fuzz.ratio` without spaces and `fuzz.token_sort_ratio`.
   `token_set_ratio` and `WRatio` were measured and rejected: both score 100 for a common given
   name alone ("Vladimir") against any name that contains it.
3. Date of birth, country and entity type then add or take away points; every step that
   changes the score is written as a reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final

import jaconv
from rapidfuzz import fuzz, process
from unidecode import unidecode

from sellerpay.errors import InvalidInput

__all__ = [
    "BirthDate",
    "EntityType",
    "Evaluation",
    "Hit",
    "LabelledPair",
    "ListEntry",
    "ListName",
    "MatchScore",
    "NameKind",
    "Party",
    "SanctionsList",
    "ScreeningIndex",
    "birth_date_adjustment",
    "detect_script",
    "evaluate",
    "make_entry",
    "name_key",
    "name_similarity",
    "normalise_name",
    "parse_birth_date",
    "parse_labelled_pairs",
    "score_party",
]

threshold_default: Final = 82
"""Chosen from the labelled set (docs/screening.md): the lowest score at which precision stays
at or above 0.95 while recall is highest."""

name_length_max: Final = 350  # OFAC's SDN_Name is 350 characters; longer names are cut
name_input_length_max: Final = 1_000  # what normalisation reads of any text
token_length_max: Final = 64
names_per_entry_max: Final = 200
tokens_per_name_max: Final = 12

# Points added to or taken from the name score (see `score_party`).
dob_exact_points: Final = 10
dob_month_points: Final = 6
dob_year_points: Final = 5
dob_range_points: Final = 3
dob_same_year_other_day_points: Final = -5
dob_near_points: Final = -10  # a year off: maybe a typing error, still doubtful
dob_range_near_points: Final = -10
dob_conflict_points: Final = -30  # two years or more apart: another person
country_listed_points: Final = 3
country_not_listed_points: Final = -3  # companies only: a person's country is where they live
type_mismatch_points: Final = -25
weak_alias_points: Final = -5
boost_max: Final = dob_exact_points + country_listed_points
"""The most points anything but the name can add: the index only scores in full the names
whose name score could still reach the threshold with it."""


class EntityType(StrEnum):
    INDIVIDUAL = "individual"
    ENTITY = "entity"  # a company, an organisation, a group
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"


class SanctionsList(StrEnum):
    """The lists Sellerpay loads, by the names the CLI and the API use."""

    OFAC_SDN = "ofac-sdn"  # US Treasury OFAC, Specially Designated Nationals
    EU_FSF = "eu-fsf"  # EU consolidated financial sanctions list


class NameKind(StrEnum):
    PRIMARY = "primary"
    ALIAS = "alias"  # a.k.a., f.k.a., n.k.a., EU name aliases, names in other scripts
    WEAK_ALIAS = "weak_alias"  # OFAC's "weak" a.k.a.: broad, low quality; counts a little less


# --- entries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListName:
    """One name of a list entry as published, with its script (ISO 15924: Latn, Cyrl, Arab,
    Jpan, Hani…) and whether it is the primary name or an alias."""

    text: str
    script: str
    kind: NameKind


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of a sanctions list, whatever its format, as screening needs it.

    `dates_of_birth` use the grammar of `parse_birth_date`; `countries` are ISO 3166 alpha-2
    codes where the list's country is known (else the list's own words, upper case);
    `content_hash` changes exactly when something screening looks at changes.
    """

    list_name: str
    entry_id: str
    entity_type: EntityType
    names: tuple[ListName, ...]
    dates_of_birth: tuple[str, ...]
    countries: tuple[str, ...]
    programs: tuple[str, ...]
    content_hash: str

    @property
    def primary_name(self) -> str:
        return self.names[0].text

    def document(self) -> dict[str, Any]:
        """The entry as stored and shown (JSON)."""
        return {
            "list_name": self.list_name,
            "entry_id": self.entry_id,
            "entity_type": self.entity_type.value,
            "names": [
                {"text": n.text, "script": n.script, "kind": n.kind.value} for n in self.names
            ],
            "dates_of_birth": list(self.dates_of_birth),
            "countries": list(self.countries),
            "programs": list(self.programs),
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ListEntry:
        return cls(
            list_name=document["list_name"],
            entry_id=document["entry_id"],
            entity_type=EntityType(document["entity_type"]),
            names=tuple(
                ListName(n["text"], n["script"], NameKind(n["kind"])) for n in document["names"]
            ),
            dates_of_birth=tuple(document["dates_of_birth"]),
            countries=tuple(document["countries"]),
            programs=tuple(document["programs"]),
            content_hash=document["content_hash"],
        )


def make_entry(
    *,
    list_name: str,
    entry_id: str,
    entity_type: EntityType,
    names: Iterable[ListName],
    dates_of_birth: Iterable[str] = (),
    countries: Iterable[str] = (),
    programs: Iterable[str] = (),
) -> ListEntry:
    """An entry with duplicates removed (first one kept, so the primary name stays first) and
    its content hash. The hash covers the normalised names, dates, countries, programs and type:
    the same entry published as CSV or as XML hashes alike, and a change of case or punctuation
    in a name is not a change."""
    kept: dict[str, ListName] = {}
    for name in names:
        text = " ".join(name.text.split())[:name_length_max]
        if text and text not in kept and len(kept) < names_per_entry_max:
            kept[text] = ListName(text, name.script, name.kind)
    if not kept:
        raise InvalidInput(
            f"entry {entry_id} of {list_name} has no name", code="entry_without_name"
        )
    dobs = tuple(dict.fromkeys(dates_of_birth))
    for text in dobs:
        parse_birth_date(text)  # refuse what the grammar does not know
    unique_countries = tuple(dict.fromkeys(c for c in countries if c))
    unique_programs = tuple(dict.fromkeys(p for p in programs if p))
    content = {
        "type": entity_type.value,
        "names": sorted({name_key(n.text) + "|" + n.kind.value for n in kept.values()}),
        "dates_of_birth": sorted(dobs),
        "countries": sorted(unique_countries),
        "programs": sorted(unique_programs),
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return ListEntry(
        list_name=list_name,
        entry_id=entry_id,
        entity_type=entity_type,
        names=tuple(kept.values()),
        dates_of_birth=dobs,
        countries=unique_countries,
        programs=unique_programs,
        content_hash=digest,
    )


# --- scripts ----------------------------------------------------------------------------------

_SCRIPT_OF_NAME_PREFIX: Final = (
    ("LATIN", "Latn"),
    ("CYRILLIC", "Cyrl"),
    ("ARABIC", "Arab"),
    ("HIRAGANA", "Jpan"),
    ("KATAKANA", "Jpan"),
    ("CJK", "Hani"),
    ("GREEK", "Grek"),
    ("HANGUL", "Hang"),
    ("HEBREW", "Hebr"),
)


def detect_script(text: str) -> str:
    """The ISO 15924 code of the script most letters of `text` are in; `Jpan` as soon as there
    is kana (kanji with kana is Japanese); `Zyyy` when there are no letters."""
    counts: dict[str, int] = {}
    for char in unicodedata.normalize("NFKC", text):
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        script = next(
            (code for prefix, code in _SCRIPT_OF_NAME_PREFIX if name.startswith(prefix)), "Zyyy"
        )
        counts[script] = counts.get(script, 0) + 1
    if not counts:
        return "Zyyy"
    if "Jpan" in counts:
        return "Jpan"
    return max(counts, key=lambda code: counts[code])


# --- normalisation ----------------------------------------------------------------------------

_JAPANESE_LEGAL_FORMS: Final = re.compile(
    r"株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|\((?:株|有|合)\)"
)
_KANA_RUN: Final = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]+")
_JOINERS: Final = re.compile(r"[.'`]")  # after unidecode, which makes every apostrophe "'"
_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")
_TITLES: Final = frozenset({"dr", "mr", "mrs", "ms", "miss", "mme", "mlle", "prof", "sir"})
_PARTICLES: Final = frozenset(
    {"al", "el", "of", "the", "and", "de", "del", "da", "di", "du", "des", "dos"}
)  # articles and prepositions: "al-Zawahiri" is "Zawahiri", "Bank of Cuba" is "Bank Cuba"
_LEGAL_FORMS: Final = frozenset(
    {
        # English-speaking
        "llc", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "co", "company",
        "plc", "llp", "lp", "pte", "pty",
        # French, Spanish, Italian, Portuguese
        "sa", "sas", "sasu", "sarl", "eurl", "snc", "sci", "sl", "slu", "srl", "spa", "sae",
        "ltda", "lda", "cia",
        # German, Dutch, Nordic, Baltic
        "gmbh", "ag", "kg", "ohg", "ug", "bv", "nv", "ab", "oy", "oyj", "ou", "aps", "asa",
        # Russian and CIS, as their Cyrillic abbreviations transliterate
        "ooo", "oao", "zao", "pao", "ao", "pjsc", "ojsc", "cjsc", "jsc",
        # Japanese in romaji, Gulf free zones
        "kk", "yk", "gk", "fze", "fzco", "fzc", "fzllc", "wll",
    }
)  # fmt: skip
_LEGAL_PHRASES: Final = (
    ("kabushiki", "kaisha"),
    ("yugen", "kaisha"),
    ("godo", "kaisha"),
    ("societe", "anonyme"),
    ("limited", "liability", "company"),
    ("public", "joint", "stock", "company"),
    ("joint", "stock", "company"),
)
_SKELETON_VOWELS: Final = re.compile(r"[aeiouy]")
_DOUBLED: Final = re.compile(r"(.)\1+")


def _romaji(kana: str, *, long_vowels: bool) -> str:
    """Kana to romaji, deterministically: katakana to hiragana, then jaconv's table. Latin-script
    lists write Japanese long vowels short (とうきょう → tokyo) but foreign words in katakana
    keep them (オウム → oumu, for Aum): `long_vowels` chooses, and both forms are screened."""
    romaji = jaconv.kana2alphabet(jaconv.kata2hira(kana))
    romaji = romaji.replace("・", " ").replace("ー", "").replace("-", "")
    if not long_vowels:
        for long, short in (("ou", "o"), ("oo", "o"), ("uu", "u")):
            romaji = romaji.replace(long, short)
    return f" {romaji} "


def _drop_phrases(tokens: list[str]) -> list[str]:
    for phrase in _LEGAL_PHRASES:
        size = len(phrase)
        for start in range(len(tokens) - size + 1):
            if tuple(tokens[start : start + size]) == phrase and len(tokens) > size:
                return _drop_phrases(tokens[:start] + tokens[start + size :])
    return tokens


def _drop_words(tokens: list[str], words: frozenset[str]) -> list[str]:
    kept = [token for token in tokens if token not in words]
    return kept or tokens  # never every token: "Co Ltd" stays a name


def name_tokens(text: str, *, long_vowels: bool = False) -> tuple[str, ...]:
    """The tokens of the normalised name, in their order (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text[:name_input_length_max])
    text = _JAPANESE_LEGAL_FORMS.sub(" ", text)
    text = _KANA_RUN.sub(lambda run: _romaji(run.group(), long_vowels=long_vowels), text)
    text = unidecode(text).casefold().replace("&", " and ")
    text = _NOT_ALNUM.sub(" ", _JOINERS.sub("", text))
    tokens = _drop_phrases(text.split())
    for words in (_TITLES, _LEGAL_FORMS, _PARTICLES):
        tokens = _drop_words(tokens, words)
    # Bounded, and short enough that normalising the result reads all of it (idempotence).
    return tuple(token[:token_length_max] for token in tokens[:tokens_per_name_max])


def normalise_name(text: str) -> str:
    """The normalised name: ASCII, lower case, tokens in their order, one space apart.
    Idempotent: normalising a normalised name changes nothing."""
    return " ".join(name_tokens(text))


def name_key(text: str) -> str:
    """The normalised tokens sorted: equal for names that differ only by word order."""
    return " ".join(sorted(name_tokens(text)))


_BRACKETED: Final = re.compile(r"[(\[]([^)\]]*)[)\]]")  # after NFKC: full-width ones too


def name_forms(text: str) -> tuple[str, ...]:
    """Every normalised form a name is screened in: the name itself; with kana, the romaji
    that keeps long vowels too; with a part in brackets ("Aleph (アレフ)", a reading or a
    former name), the part outside and each part inside on their own. No empty form."""
    text = unicodedata.normalize("NFKC", text[:name_input_length_max])
    text = _JAPANESE_LEGAL_FORMS.sub(" ", text)
    parts = [text]
    inside = _BRACKETED.findall(text)
    if inside:
        parts += [_BRACKETED.sub(" ", text), *inside]
    forms: list[str] = []
    for part in parts:
        forms.append(normalise_name(part))
        if _KANA_RUN.search(part):
            forms.append(" ".join(name_tokens(part, long_vowels=True)))
    return tuple(dict.fromkeys(f for f in forms if f))


# --- name similarity --------------------------------------------------------------------------

skeleton_score: Final = 90.0
initial_score: Final = 70.0
leftover_weight: Final = 0.2
"""How much the tokens of the longer name that found no partner lower the alignment score: a
missing middle name or patronymic costs a few points, not a match."""
single_token_factor: Final = 0.85
"""A one-token name against a longer one ("Vladimir" against "Vladimir Putin") is weak."""
listed_token_factor: Final = 0.95
"""…unless the one token is the whole listed name, found in a longer party name: a listed
company's name with a word added ("Sovcomflot Shipping") is how a front looks."""
weak_token_floor: Final = 80.0
weak_token_weight: Final = 0.5
"""A token of the shorter name whose best partner scores under the floor lowers the whole
score, by up to half: "National Bank of Canada" is not "National Bank of Cuba" however well
the other tokens agree, and "Vladimir Vladimirovich Ivanov" is not Putin."""


@lru_cache(maxsize=1 << 16)
def _skeleton(token: str) -> str:
    """The first letter and the consonants, doubled letters collapsed: Mohammed, Muhammad and
    Mohamed all give "mhmd"; Sergey and Sergei give "srg"."""
    return _DOUBLED.sub(r"\1", token[:1] + _SKELETON_VOWELS.sub("", token[1:]))


@lru_cache(maxsize=1 << 18)  # screening many parties compares the same token pairs again
def token_similarity(a: str, b: str) -> float:
    """0..100 for two normalised tokens: spelling (`fuzz.ratio`), transliteration variants (the
    same consonant skeleton: 90) and initials ("v" for "vladimir": 70)."""
    if a == b:
        return 100.0
    score = fuzz.ratio(a, b)
    if min(len(a), len(b)) >= 3 and _skeleton(a) == _skeleton(b) and len(_skeleton(a)) >= 3:
        score = max(score, skeleton_score)
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        score = max(score, initial_score)
    return score


def _aligned(short: Sequence[str], long: Sequence[str], single_token_factor: float) -> float:
    """Pair each token of `short` with a distinct token of `long`, best pairs first."""
    pairs = sorted(
        ((token_similarity(s, t), i, j) for i, s in enumerate(short) for j, t in enumerate(long)),
        reverse=True,
    )
    best: dict[int, float] = {}
    used_long: set[int] = set()
    covered = 0.0
    for score, i, j in pairs:
        if i in best or j in used_long:
            continue
        best[i] = score
        used_long.add(j)
        covered += len(long[j]) * score / 100
    aligned = sum(len(short[i]) * score for i, score in best.items()) / sum(map(len, short))
    coverage = covered / sum(map(len, long))
    aligned *= 1 - leftover_weight * (1 - coverage)
    weakest = min(best.values())
    aligned *= 1 - weak_token_weight * max(0.0, weak_token_floor - weakest) / weak_token_floor
    if len(short) == 1 and len(long) > 1:
        aligned *= single_token_factor
    return aligned


def name_similarity(a: str, b: str, *, single_token_factor: float = single_token_factor) -> float:
    """0..100 for two normalised names (see the module docstring); symmetric; 100 for names
    with the same tokens in any order."""
    tokens_a, tokens_b = a.split(), b.split()
    if not tokens_a or not tokens_b:
        return 0.0
    if sorted(tokens_a) == sorted(tokens_b):
        return 100.0
    short, long = sorted((tokens_a, tokens_b), key=lambda t: (len(t), sorted(t)))
    aligned = _aligned(short, long, single_token_factor)
    if len(short) == len(long):
        return aligned
    # Names split or joined differently ("kim jongun", "aum shinri kyo") have no token pairs:
    # compare them as written, and with the tokens sorted.
    joined = fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
    return max(aligned, joined, fuzz.token_sort_ratio(a, b, processor=None))


# --- dates of birth ---------------------------------------------------------------------------

_DOB: Final = re.compile(
    r"(?P<exact>\d{4}-\d{2}-\d{2})|(?P<month>\d{4}-\d{2})|(?P<year>\d{4})"
    r"|(?P<from>\d{4})/(?P<to>\d{4})|~(?P<circa>\d{4})"
)
circa_years: Final = 2


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A listed date of birth: an exact day, a month, a year, or a range of years (a `circa`
    year is a range of ±`circa_years`)."""

    year_from: int
    year_to: int
    month: int | None = None
    day: int | None = None

    @property
    def exact(self) -> date | None:
        if self.month is None or self.day is None:
            return None
        return date(self.year_from, self.month, self.day)


def parse_birth_date(text: str) -> BirthDate:
    """`1952-10-07`, `1952-10`, `1952`, `1977/1978` or `~1975`; anything else is refused."""
    match = _DOB.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        if match["exact"]:
            day = date.fromisoformat(match["exact"])
            return BirthDate(day.year, day.year, day.month, day.day)
        if match["month"]:
            year, month = (int(part) for part in match["month"].split("-"))
            if not 1 <= month <= 12:
                raise ValueError(text)
            return BirthDate(year, year, month)
        if match["year"]:
            return BirthDate(int(match["year"]), int(match["year"]))
        if match["circa"]:
            year = int(match["circa"])
            return BirthDate(year - circa_years, year + circa_years)
        low, high = int(match["from"]), int(match["to"])
        if low > high:
            raise ValueError(text)
        return BirthDate(low, high)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date of birth: YYYY-MM-DD, YYYY-MM, YYYY, YYYY/YYYY or ~YYYY",
            code="invalid_date_of_birth",
        ) from None


def _years_apart(listed: BirthDate, year: int) -> int:
    if listed.year_from <= year <= listed.year_to:
        return 0
    return min(abs(year - listed.year_from), abs(year - listed.year_to))


def birth_date_adjustment(listed: BirthDate, born: date) -> tuple[int, str]:
    """Points and the reason for one listed date of birth against the party's."""
    apart = _years_apart(listed, born.year)
    shown = f"{born.isoformat()} against listed {_shown(listed)}"
    if apart >= 2:
        return dob_conflict_points, f"date of birth {shown}: {apart} years apart"
    if listed.year_from != listed.year_to:
        if apart == 0:
            return dob_range_points, f"date of birth {shown}: within the range"
        return dob_range_near_points, f"date of birth {shown}: a year outside the range"
    if apart == 1:
        return dob_near_points, f"date of birth {shown}: a year apart"
    if listed.exact is not None:
        if listed.exact == born:
            return dob_exact_points, f"date of birth {shown}: the same day"
        return dob_same_year_other_day_points, f"date of birth {shown}: same year, other day"
    if listed.month is not None:
        if listed.month == born.month:
            return dob_month_points, f"date of birth {shown}: same month"
        return dob_same_year_other_day_points, f"date of birth {shown}: same year, other month"
    return dob_year_points, f"date of birth {shown}: same year"


def _shown(listed: BirthDate) -> str:
    if listed.exact is not None:
        return listed.exact.isoformat()
    if listed.month is not None:
        return f"{listed.year_from:04d}-{listed.month:02d}"
    if listed.year_from == listed.year_to:
        return f"{listed.year_from:04d}"
    return f"{listed.year_from:04d}/{listed.year_to:04d}"


# --- scoring a party --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """Someone to screen: a seller, an owner or a representative, in plain values.

    `names` holds every form given (a legal name, its kana reading, its romaji); the best one
    counts. `country` is ISO 3166 alpha-2 (residence or registration, and nationality if known).
    """

    names: tuple[str, ...]
    entity_type: EntityType | None  # None: not known yet (no points for or against a type)
    date_of_birth: date | None = None
    countries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not any(n.strip() for n in self.names):
            raise InvalidInput("a party to screen needs a name", code="party_without_name")
        if self.entity_type not in (None, EntityType.INDIVIDUAL, EntityType.ENTITY):
            raise InvalidInput("a party is an individual or an entity", code="invalid_party_type")


@dataclass(frozen=True, slots=True)
class MatchScore:
    """The score 0..100 of a party against an entry, the entry name it matched best, and why."""

    score: int
    name_score: int
    matched_name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Prepared:
    """An entry with the normalised forms of each of its names, computed once."""

    entry: ListEntry
    names: tuple[tuple[ListName, tuple[str, ...]], ...]


def _prepare(entry: ListEntry) -> _Prepared:
    return _Prepared(entry, tuple((listed, name_forms(listed.text)) for listed in entry.names))


def _party_forms(party: Party) -> tuple[str, ...]:
    return tuple(dict.fromkeys(form for name in party.names for form in name_forms(name)))


def _best_name(party_forms: Sequence[str], prepared: _Prepared) -> tuple[float, ListName, str]:
    """The best name score over every form of the party's names and the entry's names (a weak
    alias counting its penalty). A one-token listed name found whole inside a longer party
    name ("Garantex" in "Garantex Exchange") counts more than the reverse ("Vladimir" against
    "Vladimir Putin")."""
    best: tuple[float, float, ListName, str] | None = None
    for party_form in party_forms:
        party_size = party_form.count(" ") + 1
        for listed, forms in prepared.names:
            penalty = weak_alias_points if listed.kind is NameKind.WEAK_ALIAS else 0
            for form in forms:
                contained = form.count(" ") == 0 and party_size > 1
                factor = listed_token_factor if contained else single_token_factor
                score = name_similarity(party_form, form, single_token_factor=factor)
                if best is None or score + penalty > best[0]:
                    best = (score + penalty, score, listed, party_form)
    assert best is not None  # an entry always has a name (`make_entry`)
    return best[1], best[2], best[3]


def score_party(party: Party, entry: ListEntry) -> MatchScore:
    """The party's score against the entry and the reasons for it (module docstring)."""
    return _score(party, _party_forms(party), _prepare(entry))


def _score(party: Party, party_forms: Sequence[str], prepared: _Prepared) -> MatchScore:
    entry = prepared.entry
    if not party_forms:
        return MatchScore(0, 0, entry.primary_name, ("the party's name has no letters",))
    name_score, listed, party_form = _best_name(party_forms, prepared)
    reasons = [f"name {party_form!r} ~ {listed.kind.value} {listed.text!r}: {name_score:.0f}"]
    total = name_score
    for points, reason in _adjustments(party, entry, listed):
        total += points
        reasons.append(f"{reason} ({points:+d})")
    score = max(0, min(100, round(total)))
    return MatchScore(score, round(name_score), listed.text, tuple(reasons))


def _adjustments(party: Party, entry: ListEntry, listed: ListName) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    if listed.kind is NameKind.WEAK_ALIAS:
        found.append((weak_alias_points, "matched a weak alias"))
    if party.entity_type is not None and entry.entity_type is not party.entity_type:
        found.append(
            (type_mismatch_points, f"{party.entity_type.value} against a listed "
             f"{entry.entity_type.value}")
        )  # fmt: skip
    if party.date_of_birth is not None and entry.dates_of_birth:
        found.append(
            max(
                birth_date_adjustment(parse_birth_date(text), party.date_of_birth)
                for text in entry.dates_of_birth
            )
        )
    listed_countries = {c for c in entry.countries if len(c) == 2}
    if party.countries and listed_countries:  # nationality or registration, not residence
        shared = sorted(set(party.countries) & listed_countries)
        if shared:
            found.append((country_listed_points, f"country {', '.join(shared)} listed"))
        elif party.entity_type is EntityType.ENTITY:
            found.append(
                (country_not_listed_points, f"country {', '.join(party.countries)} not listed")
            )
    return found


# --- the blocking index -----------------------------------------------------------------------

block_token_cutoff_min: Final = 50
"""An entry is a candidate for a party only if one of its tokens scores at least the
threshold minus `boost_max` (but never under this) with one of the party's tokens. The name
score is a weighted mean of token scores, lowered, never raised: a pair below that cut-off
cannot reach the threshold, except names split or joined differently, which still share a
long token in practice ("kim jongun": kim)."""
similar_tokens_cached_max: Final = 200_000  # token look-ups kept by an index, then started afresh
block_token_length_min: Final = 3
"""Tokens shorter than this (al, bin, de, un…) say little alone and would make every name a
candidate: they count in scores, not in blocking, unless a name has nothing longer."""


@dataclass(frozen=True, slots=True)
class Hit:
    entry: ListEntry
    match: MatchScore


@dataclass
class ScreeningIndex:
    """Entries prepared once to screen many parties without scoring every pair.

    Blocking: every distinct token of every list name form is kept once in a vocabulary (a
    prepared choices list) with the entries it occurs in. For each token of a party,
    `process.extract` with a score cut-off finds the similar tokens of the vocabulary in one C
    call, and an equal consonant skeleton finds transliteration variants; only the entries
    sharing such a token are scored in full. Token look-ups are cached, so the cost grows with
    the distinct tokens of the parties, not with parties times entries. `name_pairs_scored` counts
    the name comparisons of full scorings, to show it.
    """

    entries: Sequence[ListEntry]
    threshold: int = threshold_default
    _prepared: list[_Prepared] = field(init=False, default_factory=list)
    _postings: dict[str, set[int]] = field(init=False, default_factory=dict)
    _skeletons: dict[str, list[str]] = field(init=False, default_factory=dict)
    _vocabulary: list[str] = field(init=False, default_factory=list)
    _similar: dict[tuple[str, float], tuple[str, ...]] = field(init=False, default_factory=dict)
    name_pairs_scored: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 100:
            raise InvalidInput("the threshold is a score from 0 to 100", code="invalid_threshold")
        self._prepared = [_prepare(entry) for entry in self.entries]
        for position, prepared in enumerate(self._prepared):
            for _listed, forms in prepared.names:
                for form in forms:
                    for token in _blocking_tokens(form.split()):
                        self._postings.setdefault(token, set()).add(position)
        self._vocabulary = sorted(self._postings)
        for token in self._vocabulary:
            self._skeletons.setdefault(_skeleton(token), []).append(token)

    def _similar_tokens(self, token: str, cutoff: float) -> tuple[str, ...]:
        cached = self._similar.get((token, cutoff))
        if cached is None:
            found = process.extract(
                token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
            )
            similar = {choice for choice, _score, _index in found}
            similar.update(self._skeletons.get(_skeleton(token), ()))
            cached = tuple(sorted(similar))
            if len(self._similar) >= similar_tokens_cached_max:
                self._similar.clear()
            self._similar[(token, cutoff)] = cached
        return cached

    def cutoff_for(self, party: Party) -> float:
        """The token cut-off of blocking for this party: the threshold minus the most points
        its details could add (a date of birth, a country), never under the minimum."""
        boost = (dob_exact_points if party.date_of_birth else 0) + (
            country_listed_points if party.countries else 0
        )
        return max(block_token_cutoff_min, self.threshold - boost)

    def candidates(self, party_forms: Iterable[str], *, cutoff: float) -> list[int]:
        """Positions of the entries that share a similar token with any of the forms."""
        found: set[int] = set()
        for form in party_forms:
            for token in _blocking_tokens(form.split()):
                for similar in self._similar_tokens(token, cutoff):
                    found |= self._postings[similar]
        return sorted(found)

    def screen(self, party: Party) -> list[Hit]:
        """The entries the party scores at least the threshold against, best first."""
        party_forms = _party_forms(party)
        hits: list[Hit] = []
        for position in self.candidates(party_forms, cutoff=self.cutoff_for(party)):
            prepared = self._prepared[position]
            self.name_pairs_scored += len(party_forms) * sum(len(f) for _n, f in prepared.names)
            match = _score(party, party_forms, prepared)
            if match.score >= self.threshold:
                hits.append(Hit(prepared.entry, match))
        hits.sort(key=lambda hit: (-hit.match.score, hit.entry.list_name, hit.entry.entry_id))
        return hits


def _blocking_tokens(tokens: Sequence[str]) -> list[str]:
    long_enough = [t for t in tokens if len(t) >= block_token_length_min]
    return long_enough or list(tokens)


# --- evaluation on a labelled set -------------------------------------------------------------

LABELLED_COLUMNS: Final = (
    "query_name", "dob", "country", "type", "list_name", "entry_id", "expected", "case",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LabelledPair:
    """A party, a list entry, and whether a reviewer must see the pair (`expected`): True when
    the details given cannot tell the party from the listed one."""

    party: Party
    list_name: str
    entry_id: str
    expected: bool
    case: str


def parse_labelled_pairs(text: str) -> list[LabelledPair]:
    """The labelled set: CSV with the header `LABELLED_COLUMNS`; errors name the line."""
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != LABELLED_COLUMNS:
        raise InvalidInput(
            f"the labelled set's header must be {','.join(LABELLED_COLUMNS)}",
            code="labelled_pairs_header",
            line=1,
        )
    pairs: list[LabelledPair] = []
    for row in reader:
        try:
            party = Party(
                names=tuple(n.strip() for n in row["query_name"].split("|")),
                entity_type=EntityType(row["type"]),
                date_of_birth=date.fromisoformat(row["dob"]) if row["dob"] else None,
                countries=tuple(c for c in row["country"].split("|") if c),
            )
            if row["expected"] not in ("yes", "no"):
                raise ValueError(f"expected must be yes or no, not {row['expected']!r}")
        except (ValueError, InvalidInput) as error:
            raise InvalidInput(
                f"labelled set line {reader.line_num}: {error}",
                code="labelled_pairs_row",
                line=reader.line_num,
            ) from None
        pairs.append(
            LabelledPair(party, row["list_name"], row["entry_id"], row["expected"] == "yes",
                         row["case"])
        )  # fmt: skip
    return pairs


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Counts at a threshold, and the pairs the matcher got wrong (for the docs and the CLI)."""

    threshold: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    wrong: tuple[tuple[LabelledPair, int], ...]

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        relevant = self.true_positives + self.false_negatives
        return self.true_positives / relevant if relevant else 1.0


def evaluate(
    pairs: Sequence[LabelledPair],
    entries: Mapping[tuple[str, str], ListEntry],
    *,
    threshold: int,
) -> Evaluation:
    """Precision and recall of `score_party` at `threshold` on the labelled pairs."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    wrong: list[tuple[LabelledPair, int]] = []
    for pair in pairs:
        entry = entries.get((pair.list_name, pair.entry_id))
        if entry is None:
            raise InvalidInput(
                f"the labelled set names {pair.list_name} {pair.entry_id}, not in the lists",
                code="labelled_entry_unknown",
            )
        score = score_party(pair.party, entry).score
        flagged = score >= threshold
        key = ("t" if flagged == pair.expected else "f") + ("p" if flagged else "n")
        counts[key] += 1
        if flagged != pair.expected:
            wrong.append((pair, score))
    return Evaluation(
        threshold, counts["tp"], counts["fp"], counts["fn"], counts["tn"], tuple(wrong)
    )
