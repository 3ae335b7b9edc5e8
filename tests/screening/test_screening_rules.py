"""The pure matcher: normalisation (scripts, kana, legal forms), name similarity, dates of birth,
countries and types, with hypothesis for the invariants (normalisation is idempotent, scores stay
in 0..100, the same name scores 100 in any word order, similarity is symmetric)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from screening_builders import fixture_entries

from sellerpay.errors import InvalidInput
from sellerpay.screening.rules import (
    EntityType,
    ListEntry,
    ListName,
    NameKind,
    Party,
    birth_date_adjustment,
    detect_script,
    make_entry,
    name_forms,
    name_key,
    name_similarity,
    normalise_name,
    parse_birth_date,
    score_party,
)

# Letters of the scripts lists use, spaces, punctuation and legal forms: names, and noise.
alphabet = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyz ABCXYZ-.,'&()")
    + list("абвгдежзийклмнопрстуфхцчшщыэюяАБВ")
    + list("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")
    + list("あいうえおかきくけこさしすせそアイウエオカキクケコーン・山田太郎株式会社")
    + [
        "LLC",
        " Ltd",
        " SA",
        " GmbH",
        " Dr ",
        " al-",
        "株式会社",
        "\uff21\uff22\uff23",
        "\uff83\uff7d\uff84",
    ]  # full-width ABC, half-width テスト
)
texts = st.lists(alphabet, max_size=40).map("".join)
names = texts.filter(lambda t: normalise_name(t) != "")
words = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9), min_size=1, max_size=5
)


def entry(
    *names: str,
    entity_type: EntityType = EntityType.INDIVIDUAL,
    dates_of_birth: Sequence[str] = (),
    countries: Sequence[str] = (),
) -> ListEntry:
    return make_entry(
        list_name="ofac-sdn",
        entry_id="1",
        entity_type=entity_type,
        names=[
            ListName(n, detect_script(n), NameKind.PRIMARY if i == 0 else NameKind.ALIAS)
            for i, n in enumerate(names)
        ],
        dates_of_birth=dates_of_birth,
        countries=countries,
    )


def party(
    name: str,
    entity_type: EntityType | None = EntityType.INDIVIDUAL,
    *,
    date_of_birth: date | None = None,
    countries: tuple[str, ...] = (),
) -> Party:
    return Party((name,), entity_type, date_of_birth, countries)


# --- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("PUTIN, Vladimir Vladimirovich", "putin vladimir vladimirovich"),
        ("Владимир Владимирович ПУТИН", "vladimir vladimirovich putin"),
        ("AL ZAWAHIRI, Dr. Ayman", "zawahiri ayman"),  # title and article dropped
        ("ANGLO-CARIBBEAN CO., LTD.", "anglo caribbean"),
        ("PUBLIC JOINT STOCK COMPANY SOVCOMFLOT", "sovcomflot"),
        ("ПАО Совкомфлот", "sovkomflot"),
        ("Acme Refurb SAS", "acme refurb"),
        ("Müller & Söhne GmbH", "muller sohne"),
        ("A.I.C. SOGO KENKYUSHO", "aic sogo kenkyusho"),
        ("O'Brien Trading S.A.R.L.", "obrien trading"),
        ("株式会社アレフ", "arefu"),
        ("ヤマダ タロウ", "yamada taro"),  # Hepburn's long vowels written short
        ("ｵｳﾑ", "omu"),  # half-width katakana
        ("Co Ltd", "co ltd"),  # never every token
        ("", ""),
    ],
)
def test_names_normalise_to_ascii_tokens_without_titles_or_legal_forms(
    name: str, normalised: str
) -> None:
    assert normalise_name(name) == normalised


def test_kana_is_screened_with_and_without_long_vowels_and_brackets_apart() -> None:
    assert name_forms("オウム") == ("omu", "oumu")
    assert name_forms("Aleph (アレフ)") == ("aleph arefu", "aleph", "arefu")
    assert name_forms("(株)ソニー") == ("soni",)  # the legal form is not a bracketed name


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("PUTIN", "Latn"),
        ("Путин", "Cyrl"),
        ("صدام", "Arab"),
        ("オウム真理教", "Jpan"),
        ("真理教", "Hani"),
        ("123 !", "Zyyy"),
    ],
)
def test_the_script_of_a_name_is_detected(name: str, script: str) -> None:
    assert detect_script(name) == script


@given(texts)
def test_normalising_a_normalised_name_changes_nothing(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
    assert once == once.strip() and "  " not in once
    assert all(c.isascii() and (c.isalnum() or c == " ") for c in once)


@given(words, st.randoms(use_true_random=False))
def test_word_order_never_matters(tokens: list[str], random: Random) -> None:
    shuffled = list(tokens)
    random.shuffle(shuffled)
    a, b = " ".join(tokens), " ".join(shuffled)

    assert name_key(a) == name_key(b)
    assert name_similarity(normalise_name(a), normalise_name(b)) == 100


# --- similarity and scores ----------------------------------------------------------------------


@given(names, names)
@settings(max_examples=300)
def test_name_similarity_is_symmetric_and_within_0_and_100(a: str, b: str) -> None:
    x, y = normalise_name(a), normalise_name(b)

    assert name_similarity(x, y) == pytest.approx(name_similarity(y, x))
    assert 0 <= name_similarity(x, y) <= 100
    assert name_similarity(x, x) == 100


@given(
    names,
    names,
    st.sampled_from([None, EntityType.INDIVIDUAL, EntityType.ENTITY]),
    st.sampled_from(list(EntityType)),
    st.none() | st.dates(date(1900, 1, 1), date(2010, 12, 31)),
    st.lists(st.sampled_from(["1952-10-07", "1952", "1952-10", "1950/1955", "~1960"]), max_size=2),
    st.lists(st.sampled_from(["RU", "FR", "JP"]), max_size=2),
)
def test_a_score_is_always_within_0_and_100_and_explains_itself(
    query: str,
    listed: str,
    party_type: EntityType | None,
    listed_type: EntityType,
    born: date | None,
    dobs: list[str],
    countries: list[str],
) -> None:
    match = score_party(
        Party((query,), party_type, born, tuple(countries[:1])),
        entry(listed, entity_type=listed_type, dates_of_birth=dobs, countries=countries),
    )

    assert 0 <= match.score <= 100
    assert 0 <= match.name_score <= 100
    assert match.reasons[0].startswith("name ")
    assert match.matched_name == " ".join(listed.split())


@given(names)
def test_a_party_with_the_listed_name_and_nothing_else_scores_100(name: str) -> None:
    assert score_party(party(name, None), entry(name)).score == 100


@given(names, st.dates(date(1920, 1, 1), date(2005, 12, 31)), st.integers(2, 60))
def test_a_date_of_birth_years_apart_always_lowers_the_score(
    name: str, born: date, years: int
) -> None:
    listed = entry(name, dates_of_birth=[born.isoformat()])
    other = born.replace(year=born.year + years) if born.month != 2 else born.replace(
        year=born.year + years, day=1
    )  # fmt: skip

    same = score_party(party(name, date_of_birth=born), listed)
    different = score_party(party(name, date_of_birth=other), listed)

    assert same.score == 100
    assert different.score == 70
    assert any("years apart (-30)" in reason for reason in different.reasons)


def test_spelling_variants_transliterations_and_aliases_score_high() -> None:
    putin = entry("PUTIN, Vladimir Vladimirovich")
    zawahiri = entry("AL ZAWAHIRI, Dr. Ayman", "AL-ZAWAHIRI, Aiman Muhammad Rabi")

    assert score_party(party("Vladimir Putin"), putin).score >= 90
    assert score_party(party("Wladimir Putin"), putin).score >= 82
    assert score_party(party("Vladimir Poutine"), putin).score >= 82
    assert score_party(party("Владимир Путин"), putin).score >= 90
    assert score_party(party("Aiman Muhammad Rabi al-Zawahiri"), zawahiri).score == 100
    assert score_party(party("Ayman Zawahry"), zawahiri).score >= 82


def test_near_misses_score_low() -> None:
    putin = entry("PUTIN, Vladimir Vladimirovich")
    bank = entry("NATIONAL BANK OF CUBA", entity_type=EntityType.ENTITY)

    assert score_party(party("Vladimir Petrov"), putin).score < 70
    assert score_party(party("Vladimir"), putin).score < 82
    assert score_party(party("Vladimir Vladimirovich Ivanov"), putin).score < 82
    assert score_party(party("National Bank of Canada", EntityType.ENTITY), bank).score < 82


def test_type_country_and_weak_aliases_adjust_the_score_with_reasons() -> None:
    listed = make_entry(
        list_name="ofac-sdn",
        entry_id="306",
        entity_type=EntityType.ENTITY,
        names=[
            ListName("BANCO NACIONAL DE CUBA", "Latn", NameKind.PRIMARY),
            ListName("BNC", "Latn", NameKind.WEAK_ALIAS),
        ],
        countries=["CH", "ES"],
    )

    person = score_party(party("Banco Nacional de Cuba"), listed)
    company_abroad = score_party(party("Banco Nacional de Cuba", EntityType.ENTITY,
                                       countries=("FR",)), listed)  # fmt: skip
    company_listed = score_party(party("BNC", EntityType.ENTITY, countries=("ES",)), listed)

    assert person.score == 75
    assert "individual against a listed entity (-25)" in person.reasons
    assert company_abroad.score == 97
    assert "country FR not listed (-3)" in company_abroad.reasons
    assert company_listed.score == 98
    assert company_listed.reasons[1:] == ("matched a weak alias (-5)", "country ES listed (+3)")


@pytest.mark.parametrize(
    ("listed", "born", "points"),
    [
        ("1952-10-07", date(1952, 10, 7), 10),
        ("1952-10-07", date(1952, 7, 10), -5),  # day and month swapped: same year
        ("1952-10-07", date(1953, 10, 7), -10),
        ("1952-10-07", date(1955, 10, 7), -30),
        ("1952-10", date(1952, 10, 30), 6),
        ("1952", date(1952, 1, 1), 5),
        ("1950/1955", date(1953, 6, 1), 3),
        ("1950/1955", date(1956, 6, 1), -10),
        ("~1975", date(1977, 1, 1), 3),
        ("~1975", date(1979, 1, 1), -30),
    ],
)
def test_date_of_birth_points(listed: str, born: date, points: int) -> None:
    assert birth_date_adjustment(parse_birth_date(listed), born)[0] == points


@pytest.mark.parametrize("text", ["1952-13", "1952-02-30", "52", "1955/1950", "circa 1950", ""])
def test_a_date_of_birth_outside_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_birth_date(text)
    assert refused.value.code == "invalid_date_of_birth"


def test_a_party_needs_a_name_and_a_party_type() -> None:
    with pytest.raises(InvalidInput):
        Party(names=(" ",), entity_type=None)
    with pytest.raises(InvalidInput):
        Party(names=("X",), entity_type=EntityType.VESSEL)


def test_the_content_hash_ignores_case_punctuation_and_order_but_not_content() -> None:
    entries = fixture_entries()
    putin = entries[("ofac-sdn", "35096")]
    names = list(putin.names)
    same = make_entry(
        list_name=putin.list_name,
        entry_id=putin.entry_id,
        entity_type=putin.entity_type,
        names=[ListName("putin vladimir VLADIMIROVICH", "Latn", NameKind.PRIMARY)],
        dates_of_birth=putin.dates_of_birth,
        countries=putin.countries,
        programs=putin.programs,
    )
    other_dob = make_entry(
        list_name=putin.list_name,
        entry_id=putin.entry_id,
        entity_type=putin.entity_type,
        names=names,
        dates_of_birth=["1952-10-08"],
        countries=putin.countries,
        programs=putin.programs,
    )

    assert same.content_hash == putin.content_hash
    assert other_dob.content_hash != putin.content_hash
