"""The SEPA character set: what each kind of text becomes, what is refused, and the invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rails_builders import sepa_references

from sellerpay.rails.charset import (
    SEPA_CHARACTERS,
    check_sepa_reference,
    is_sepa_text,
    restrict_to_charset,
    to_sepa_text,
    transliterate_to_latin,
)
from sellerpay.rails.instructions import RailError


@pytest.mark.parametrize(
    ("text", "sepa"),
    [
        # accents and letters with a standard Latin spelling
        ("é", "e"),
        ("José Ñúñez", "Jose Nunez"),
        ("Straße", "Strasse"),
        ("Łódź", "Lodz"),
        ("Dvořák", "Dvorak"),
        ("Ærøskøbing", "AEroskobing"),
        ("Œuvre", "OEuvre"),
        ("Þór", "Thor"),
        ("Şişli İstanbul", "Sisli Istanbul"),
        ("Müller & Söhne GmbH", "Muller + Sohne GmbH"),
        ("\uff21\uff22\uff23\uff11\uff12\uff13", "ABC123"),  # full-width "ABC123"
        ("ﬁnance", "finance"),  # ligature
        ("e\u0301cole", "ecole"),  # decomposed accent
        # other scripts with a standard romanisation
        ("Київ", "Kiyiv"),
        ("Москва", "Moskva"),
        ("Ελλάδα", "Ellada"),
        ("カブシキ", "kabushiki"),
        # punctuation: look-alikes inside the set, the rest a space
        ("\u201cquoted\u201d \u2018x\u2019", "'quoted' 'x'"),  # typographic quotes
        ("a_b@c.d", "a-b c.d"),
        ("<x> [y] {z}", "(x) (y) (z)"),
        ("50% off!", "50 off."),
        ("#1 *best*", "1 best"),
        ("semi;colon", "semi,colon"),
        ("€100", "EUR100"),
        ("Ltd. / Co: (A) ?+,'-", "Ltd. / Co: (A) ?+,'-"),  # the set itself is kept as is
        # whitespace and invisible characters
        ("  tab\there\nnew\u00a0line  ", "tab here new line"),
        ("a\u200bb\x00c\x07d", "abcd"),
        ("Shop 🙂 Paris", "Shop Paris"),
    ],
)
def test_text_becomes_its_sepa_spelling(text: str, sepa: str) -> None:
    assert to_sepa_text(text, length_max=140, where="name") == sepa


def test_kana_is_romanised_the_way_unidecode_reads_it() -> None:
    # Pinned so a change of unidecode's tables shows up here, not in a bank's reply.
    assert to_sepa_text("セラー", length_max=70, where="name") == "sera-"


@pytest.mark.parametrize("text", ["株式会社", "Tokyo 東京 Shop", "\U00020000"])
def test_han_ideographs_are_refused_rather_than_read_in_mandarin(text: str) -> None:
    with pytest.raises(RailError) as caught:
        to_sepa_text(text, length_max=70, where="transfers[0].creditor_name")

    assert caught.value.code == "text_untransliterable"
    assert caught.value.where == "transfers[0].creditor_name"
    assert "Latin script" in caught.value.message


@pytest.mark.parametrize("text", ["", "   ", "🙂", "\x00\x01", "***", "\u200b"])
def test_text_with_nothing_writable_is_refused(text: str) -> None:
    with pytest.raises(RailError) as caught:
        to_sepa_text(text, length_max=70, where="remittance")

    assert (caught.value.code, caught.value.where) == ("text_empty", "remittance")


def test_truncation_counts_the_transliterated_text_and_never_ends_on_a_space() -> None:
    assert to_sepa_text("ß" * 40, length_max=70, where="name") == "ss" * 35
    assert to_sepa_text("abcd efgh", length_max=5, where="name") == "abcd"


def test_restrict_to_charset_serves_other_rails_sets() -> None:
    upper = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")
    latin = transliterate_to_latin("Zoë & Co.", where="name").upper()

    assert restrict_to_charset(latin, upper, {"&": "AND"}) == "ZOE AND CO"


@pytest.mark.parametrize(
    "reference", ["PO-1", "A", "P" * 35, "a/b", "RUN 2026", "x?y:z(1).2,3'4+5"]
)
def test_valid_references_are_returned_unchanged(reference: str) -> None:
    assert check_sepa_reference(reference, where="id") == reference


@pytest.mark.parametrize(
    ("reference", "rule"),
    [
        ("", "empty"),
        ("P" * 36, "36 characters"),
        ("PO_1", "outside the SEPA character set"),
        ("PÖ-1", "outside the SEPA character set"),
        ("/PO", "starts or ends"),
        ("PO/", "starts or ends"),
        (" PO", "starts or ends"),
        ("P//O", "'//'"),
    ],
)
def test_invalid_references_are_refused_with_the_rule_they_break(reference: str, rule: str) -> None:
    with pytest.raises(RailError) as caught:
        check_sepa_reference(reference, where="end_to_end_id")

    assert caught.value.code == "reference_invalid"
    assert caught.value.where == "end_to_end_id"
    assert rule in caught.value.message


@given(st.text(), st.integers(min_value=1, max_value=140))
def test_any_text_becomes_sepa_text_within_its_length_or_a_precise_refusal(
    text: str, length_max: int
) -> None:
    try:
        sepa = to_sepa_text(text, length_max=length_max, where="name")
    except RailError as error:
        assert error.code in {"text_untransliterable", "text_empty"}
        return
    assert is_sepa_text(sepa)
    assert 1 <= len(sepa) <= length_max
    assert sepa == sepa.strip() and "  " not in sepa
    assert to_sepa_text(sepa, length_max=length_max, where="name") == sepa  # idempotent


@given(st.text(alphabet=sorted(SEPA_CHARACTERS - {" "}), min_size=1, max_size=70))
def test_text_already_in_the_set_is_kept_as_is(text: str) -> None:
    assert to_sepa_text(text, length_max=70, where="name") == text


@given(sepa_references())
def test_generated_references_are_valid(reference: str) -> None:
    assert check_sepa_reference(reference, where="id") == reference
