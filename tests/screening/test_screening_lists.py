"""The list parsers on the fixture files in their real formats: every field of the entries, the
same entry read alike from OFAC's CSV and XML, and malformed files refused with a typed error
naming the file and the line or element."""

from __future__ import annotations

import pytest
from screening_builders import eu_xml, ofac_csv_files, ofac_xml, zipped

from sellerpay.errors import InvalidInput
from sellerpay.screening.lists import (
    OFAC_NAMESPACES,
    ListFormatError,
    country_code,
    ofac_birth_date,
    parse_eu_xml,
    parse_list_files,
    parse_ofac_csv,
    parse_ofac_xml,
)
from sellerpay.screening.rules import EntityType, ListEntry, ListName, NameKind, SanctionsList

OFAC_IDS = [
    "36", "173", "306", "2676", "6366", "10284", "12345", "20250", "22790", "27391", "35096",
    "36092", "44210",
]  # fmt: skip


def ofac_from_csv() -> dict[str, ListEntry]:
    files = ofac_csv_files()
    parsed = parse_ofac_csv(files["sdn.csv"], add=files["add.csv"], alt=files["alt.csv"])
    return {e.entry_id: e for e in parsed.entries}


# --- OFAC ---------------------------------------------------------------------------------------


def test_ofac_xml_gives_every_field_of_an_individual() -> None:
    parsed = parse_ofac_xml(ofac_xml())
    entry = {e.entry_id: e for e in parsed.entries}["2676"]

    assert parsed.list_name is SanctionsList.OFAC_SDN
    assert parsed.source_format == "ofac-xml"
    assert parsed.version == "2026-11-14"
    assert [e.entry_id for e in parsed.entries] == OFAC_IDS
    assert entry.list_name == "ofac-sdn"
    assert entry.entity_type is EntityType.INDIVIDUAL
    assert entry.names == (
        ListName("AL ZAWAHIRI, Dr. Ayman", "Latn", NameKind.PRIMARY),
        ListName("AL-ZAWAHIRI, Aiman Muhammad Rabi", "Latn", NameKind.ALIAS),
        ListName("AL-ZAWAHIRI, Ayman", "Latn", NameKind.ALIAS),
        ListName("ABU MUHAMMAD", "Latn", NameKind.WEAK_ALIAS),
    )
    assert entry.dates_of_birth == ("1951-06-19",)
    assert entry.countries == ("EG",)
    assert entry.programs == ("SDGT", "SDT")
    assert len(entry.content_hash) == 64


def test_ofac_xml_reads_entities_vessels_aircraft_addresses_and_year_ranges() -> None:
    entries = {e.entry_id: e for e in parse_ofac_xml(ofac_xml()).entries}

    bank = entries["306"]
    assert bank.entity_type is EntityType.ENTITY
    assert [n.text for n in bank.names] == [
        "BANCO NACIONAL DE CUBA",
        "BNC",
        "NATIONAL BANK OF CUBA",
    ]
    assert [n.kind for n in bank.names][1] is NameKind.WEAK_ALIAS
    assert bank.countries == ("CH", "ES", "JP")  # its addresses
    assert bank.dates_of_birth == ()
    vessel = entries["27391"]
    assert vessel.entity_type is EntityType.VESSEL
    assert vessel.countries == ("IR",)  # the flag
    assert [n.text for n in vessel.names] == ["ADRIAN DARYA 1", "GRACE 1"]
    assert entries["36092"].entity_type is EntityType.AIRCRAFT
    assert entries["12345"].dates_of_birth == ("1975/1980",)  # "circa 1977 to 1978"
    assert entries["20250"].countries == ("KP",)  # "Korea, North"
    assert entries["35096"].names[0].text == "PUTIN, Vladimir Vladimirovich"


def test_ofac_csv_trio_gives_the_same_entries_as_the_xml_down_to_the_content_hash() -> None:
    from_csv = ofac_from_csv()
    from_xml = {e.entry_id: e for e in parse_ofac_xml(ofac_xml()).entries}

    assert list(from_csv) == OFAC_IDS
    for entry_id, entry in from_xml.items():
        same = from_csv[entry_id]
        assert same.content_hash == entry.content_hash, entry_id
        assert sorted(same.names, key=str) == sorted(entry.names, key=str)
        assert same.dates_of_birth == entry.dates_of_birth


def test_ofac_csv_reads_remarks_addresses_aliases_and_program_lists() -> None:
    entries = ofac_from_csv()
    putin = entries["35096"]
    zawahiri = entries["2676"]

    assert putin.dates_of_birth == ("1952-10-07",)
    assert putin.countries == ("RU",)  # "nationality Russia"
    assert zawahiri.programs == ("SDGT", "SDT")  # "SDGT] [SDT"
    assert [n.kind for n in zawahiri.names] == [
        NameKind.PRIMARY,
        NameKind.ALIAS,
        NameKind.ALIAS,
        NameKind.WEAK_ALIAS,  # "a.k.a. 'ABU MUHAMMAD'" in the remarks
    ]
    assert entries["173"].countries == ("GB",)  # add.csv


def test_the_older_ofac_namespace_is_read_too() -> None:
    older = ofac_xml().replace(OFAC_NAMESPACES[0].encode(), OFAC_NAMESPACES[1].encode())

    assert [e.entry_id for e in parse_ofac_xml(older).entries] == OFAC_IDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07 Oct 1952", "1952-10-07"),
        ("Oct 1952", "1952-10"),
        ("1952", "1952"),
        ("circa 1975", "~1975"),
        ("1960 to 1962", "1960/1962"),
        ("circa 1977 to 1978", "1975/1980"),
        ("1952-10-07", "1952-10-07"),
        ("31 Feb 1952", None),
        ("Foo 1952", None),
        ("sometime", None),
    ],
)
def test_ofac_dates_of_birth_are_read_into_one_grammar(text: str, expected: str | None) -> None:
    assert ofac_birth_date(text) == expected


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Korea, North", "KP"),
        ("Russia", "RU"),
        ("Burma", "MM"),
        ("United Kingdom", "GB"),
        ("Cote d'Ivoire", "CI"),
        ("Iran", "IR"),
        ("RU", "RU"),
        ("Atlantis", "ATLANTIS"),
    ],
)
def test_country_names_become_iso_codes_and_unknown_ones_are_kept(name: str, code: str) -> None:
    assert country_code(name) == code


# --- EU -----------------------------------------------------------------------------------------


def test_eu_xml_gives_every_field_with_scripts_of_each_alias() -> None:
    parsed = parse_eu_xml(eu_xml())
    entries = {e.entry_id: e for e in parsed.entries}
    putin = entries["139988"]

    assert parsed.list_name is SanctionsList.EU_FSF
    assert parsed.version == "2026-11-13T17:00:34.049+01:00"
    assert str(parsed.published_on) == "2026-11-13"
    assert len(parsed.entries) == 8
    assert putin.entity_type is EntityType.INDIVIDUAL
    assert [(n.script, n.kind) for n in putin.names] == [
        ("Latn", NameKind.PRIMARY),
        ("Cyrl", NameKind.ALIAS),
        ("Jpan", NameKind.ALIAS),
    ]
    assert putin.dates_of_birth == ("1952-10-07",)
    assert putin.countries == ("RU",)
    assert putin.programs == ("UKR",)
    assert entries["13"].names[2] == ListName("صدام حسين التكريتي", "Arab", NameKind.ALIAS)
    aum = entries["5013"]
    assert aum.entity_type is EntityType.ENTITY
    assert ListName("AUM", "Latn", NameKind.WEAK_ALIAS) in aum.names  # strong="false"
    assert ListName("オウム真理教", "Jpan", NameKind.ALIAS) in aum.names
    assert entries["6893"].dates_of_birth == ("~1977", "1977/1978")  # circa, and a range
    assert entries["6893"].countries == ("AF",)  # the birth place "00" is not a country


# --- malformed files ----------------------------------------------------------------------------


def refused(call: object) -> ListFormatError:
    with pytest.raises(ListFormatError) as caught:
        call()  # type: ignore[operator]
    assert isinstance(caught.value, InvalidInput)  # 422 in the API, exit 2 on the command line
    return caught.value


def test_a_csv_row_with_a_missing_field_is_refused_naming_its_line() -> None:
    files = ofac_csv_files()
    rows = files["sdn.csv"].split(b"\r\n")
    rows[2] = rows[2].rsplit(b",", 1)[0]
    error = refused(lambda: parse_ofac_csv(b"\r\n".join(rows)))

    assert error.context == {"file": "sdn.csv", "line": 3}
    assert "11 fields, expected 12" in error.detail


def test_an_alias_of_an_unknown_entry_and_a_bad_ent_num_are_refused() -> None:
    sdn = ofac_csv_files()["sdn.csv"]
    orphan = refused(lambda: parse_ofac_csv(sdn, alt=b'99999,1,"aka","NOBODY",-0- \r\n'))
    not_a_number = refused(lambda: parse_ofac_csv(b'3x6,"X",-0- ' + b",-0- " * 9 + b"\r\n"))

    assert orphan.context == {"file": "alt.csv", "line": 1}
    assert not_a_number.context == {"file": "sdn.csv", "line": 1}


def test_an_unknown_sdn_type_and_a_duplicate_ent_num_are_refused() -> None:
    sdn = ofac_csv_files()["sdn.csv"]
    unknown = refused(lambda: parse_ofac_csv(sdn.replace(b'"individual"', b'"robot"', 1)))
    first = sdn.split(b"\r\n")[0]
    twice = refused(lambda: parse_ofac_csv(first + b"\r\n" + first + b"\r\n"))

    assert "unknown SDN_Type 'robot'" in unknown.detail
    assert twice.context == {"file": "sdn.csv", "line": 2}


def test_xml_errors_name_the_element_and_its_line() -> None:
    no_last_name = ofac_xml().replace(b"<lastName>AEROCARIBBEAN AIRLINES</lastName>", b"", 1)
    bad_dob = ofac_xml().replace(b"07 Oct 1952", b"the seventh of October", 1)
    no_subject = eu_xml().replace(b'<subjectType code="person" classificationCode="P"/>', b"", 1)

    assert refused(lambda: parse_ofac_xml(no_last_name)).context == {
        "file": "sdn.xml", "line": 7, "element": "sdnEntry",
    }  # fmt: skip
    dob = refused(lambda: parse_ofac_xml(bad_dob))
    assert dob.context["element"] == "dateOfBirthItem"
    assert "the seventh of October" in dob.detail
    assert refused(lambda: parse_eu_xml(no_subject)).context == {
        "file": "eu-fsf.xml", "line": 3, "element": "sanctionEntity",
    }  # fmt: skip


def test_a_truncated_or_broken_xml_file_is_refused() -> None:
    truncated = ofac_xml()[: len(ofac_xml()) // 2]
    one_entry_less = ofac_xml().replace(b"<Record_Count>13</Record_Count>",
                                        b"<Record_Count>14</Record_Count>")  # fmt: skip

    assert "not well-formed" in refused(lambda: parse_ofac_xml(truncated)).detail
    assert "Record_Count says 14" in refused(lambda: parse_ofac_xml(one_entry_less)).detail


def test_a_file_of_another_list_or_format_is_refused_with_its_namespace() -> None:
    error = refused(lambda: parse_ofac_xml(eu_xml()))

    assert error.code == "list_format_unknown"
    assert "http://eu.europa.ec/fpi/fsd/export" in error.detail
    assert refused(lambda: parse_eu_xml(ofac_xml())).code == "list_format_unknown"


def test_entities_and_doctypes_are_never_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        b'<export xmlns="http://eu.europa.ec/fpi/fsd/export">&lol2;</export>'
    )

    error = refused(lambda: parse_eu_xml(bomb))

    assert "DOCTYPE" in error.detail or "entity" in error.detail.lower()


# --- files as uploaded --------------------------------------------------------------------------


def test_uploads_are_read_as_xml_csv_files_or_a_zip_of_them() -> None:
    as_xml = parse_list_files(SanctionsList.OFAC_SDN, {"upload": ofac_xml()})
    as_csv = parse_list_files(SanctionsList.OFAC_SDN, ofac_csv_files())
    as_zip = parse_list_files(SanctionsList.OFAC_SDN, {"sdn.zip": zipped(ofac_csv_files())})
    eu = parse_list_files(SanctionsList.EU_FSF, {"upload": zipped({"eu.xml": eu_xml()})})

    hashes = {e.entry_id: e.content_hash for e in as_xml.entries}
    assert {e.entry_id: e.content_hash for e in as_csv.entries} == hashes
    assert {e.entry_id: e.content_hash for e in as_zip.entries} == hashes
    assert as_csv.source_format == "ofac-csv"
    assert as_csv.version is None  # the CSV files state no publication date
    assert len(eu.entries) == 8


def test_a_zip_with_folders_or_too_many_files_and_stray_csv_files_are_refused() -> None:
    with_folder = zipped({"../sdn.csv": ofac_csv_files()["sdn.csv"]})
    many = zipped({f"f{i}.csv": b"" for i in range(11)})
    files = {**ofac_csv_files(), "notes.txt": b"hello"}

    assert refused(lambda: parse_list_files(SanctionsList.OFAC_SDN, {"z": with_folder})).code == (
        "list_zip"
    )
    assert refused(lambda: parse_list_files(SanctionsList.OFAC_SDN, {"z": many})).code == "list_zip"
    assert refused(lambda: parse_list_files(SanctionsList.OFAC_SDN, files)).code == "list_files"
    assert refused(lambda: parse_list_files(SanctionsList.EU_FSF, ofac_csv_files())).code == (
        "list_files"
    )
