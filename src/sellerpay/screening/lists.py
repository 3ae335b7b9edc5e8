"""Parsers of published sanctions lists into `ListEntry` values: pure, bytes in, entries out.

Formats (docs/screening.md shows a sample of each):

* OFAC SDN, legacy CSV: `sdn.csv` (ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
  Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks), `add.csv` (ent_num, add_num,
  address, city, country, remarks), `alt.csv` (ent_num, alt_num, alt_type, alt_name, remarks)
  and optionally `sdn_comments.csv` (ent_num, remarks overflow): headerless, `-0-` for empty,
  CRLF lines, a Ctrl-Z at the end. Dates of birth, nationalities and weak a.k.a.s live in the
  free-text remarks ("DOB 07 Oct 1952; nationality Russia; a.k.a. 'BNC'.").
* OFAC SDN, XML (`sdn.xml`): `sdnList` in the namespace of the Sanctions List Service or the
  older `http://tempuri.org/sdnList.xsd`, `publshInformation` (OFAC's spelling) with the
  publication date and record count, then `sdnEntry` elements.
* EU consolidated financial sanctions list, XML 1.1: `export` in the namespace
  `http://eu.europa.ec/fpi/fsd/export` with `sanctionEntity` elements (`subjectType`,
  `nameAlias`, `birthdate`, `citizenship`, `address`, `regulation`).

A file that is not what it claims raises `ListFormatError` naming the file and the line or
element; nothing is half-parsed. XML is read without DTDs, entities or network access.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from babel import Locale
from lxml import etree

from sellerpay.errors import InvalidInput
from sellerpay.screening.rules import (
    EntityType,
    ListEntry,
    ListName,
    NameKind,
    SanctionsList,
    detect_script,
    make_entry,
    parse_birth_date,
)

__all__ = [
    "EU_NAMESPACE",
    "OFAC_NAMESPACES",
    "ListEntry",
    "ListFormatError",
    "ParsedList",
    "country_code",
    "parse_eu_xml",
    "parse_list_files",
    "parse_ofac_csv",
    "parse_ofac_xml",
]

list_file_bytes_max: Final = 200 * 1024 * 1024  # today's sdn.xml is ~30 MB, the EU XML ~25 MB
entries_max: Final = 100_000  # both lists hold under 20,000 entries
zip_members_max: Final = 10

OFAC_NAMESPACES: Final = (
    "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML",
    "http://tempuri.org/sdnList.xsd",
)
EU_NAMESPACE: Final = "http://eu.europa.ec/fpi/fsd/export"
OFAC_CSV_FILES: Final = ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")
_NULL: Final = "-0-"
_OFAC_TYPES: Final = {
    "": EntityType.ENTITY,
    "individual": EntityType.INDIVIDUAL,
    "entity": EntityType.ENTITY,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
}
_EU_TYPES: Final = {"person": EntityType.INDIVIDUAL, "enterprise": EntityType.ENTITY}


class ListFormatError(InvalidInput):
    """A list file is not in the format it claims: names the file and the line or element."""

    default_code = "list_format"
    title = "Malformed sanctions list"

    def __init__(
        self,
        detail: str,
        *,
        file: str,
        line: int | None = None,
        element: str | None = None,
        code: str | None = None,
    ) -> None:
        where = file + (f" line {line}" if line is not None else "")
        where += f" <{element}>" if element else ""
        context: dict[str, Any] = {"file": file}
        if line is not None:
            context["line"] = line
        if element is not None:
            context["element"] = element
        super().__init__(f"{where}: {detail}", code=code, **context)


@dataclass(frozen=True, slots=True)
class ParsedList:
    """A whole list as published: which list, its version (the publication date or time the
    file states; None when the format has none, as OFAC's CSV), and its entries."""

    list_name: SanctionsList
    source_format: str  # ofac-csv, ofac-xml, eu-xml
    version: str | None
    published_on: date | None
    entries: tuple[ListEntry, ...] = field(repr=False)


# --- countries --------------------------------------------------------------------------------

# OFAC's spellings that are not the CLDR English name of the country.
_OFAC_COUNTRY_NAMES: Final = {
    "korea north": "KP",
    "korea south": "KR",
    "burma": "MM",
    "turkey": "TR",
    "czech republic": "CZ",
    "congo democratic republic of the": "CD",
    "congo republic of the": "CG",
    "cote d ivoire": "CI",
    "west bank": "PS",
    "gaza": "PS",
    "macau": "MO",
    "hong kong": "HK",
    "bahamas the": "BS",
    "gambia the": "GM",
    "micronesia federated states of": "FM",
    "vatican city": "VA",
    "swaziland": "SZ",
    "macedonia": "MK",
    "north macedonia the republic of": "MK",
    "russian federation": "RU",
    "united states of america": "US",
    "iran islamic republic of": "IR",
    "syrian arab republic": "SY",
}


def _country_key(name: str) -> str:
    from unidecode import unidecode

    return " ".join(re.sub(r"[^a-z]+", " ", unidecode(name).casefold()).split())


def _country_table() -> dict[str, str]:
    table = dict(_OFAC_COUNTRY_NAMES)
    for code, name in Locale("en").territories.items():
        if re.fullmatch(r"[A-Z]{2}", code) and code not in ("ZZ", "EU", "UN", "EZ", "QO"):
            table.setdefault(_country_key(name), code)
            table.setdefault(_country_key(re.sub(r"\s*\(.*\)", "", name)), code)
    return table


_COUNTRIES: Final = _country_table()


def country_code(name: str) -> str:
    """ISO 3166 alpha-2 for a country as lists spell it ("Korea, North" → KP, "Russia" → RU);
    a name we do not know is kept, upper case, so no information is lost."""
    text = name.strip()
    if re.fullmatch(r"[A-Z]{2}", text) and text != "00":
        return text
    return _COUNTRIES.get(_country_key(text), text.upper())


# --- dates of birth as the lists write them ---------------------------------------------------

_MONTHS: Final = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
)}  # fmt: skip
_OFAC_DOB: Final = re.compile(
    r"(?P<circa>circa\s+)?"
    r"(?:(?P<day>\d{1,2})\s+)?(?:(?P<month>[A-Za-z]{3})[a-z]*\s+)?(?P<year>\d{4})"
    r"(?:\s+to\s+(?:\d{1,2}\s+)?(?:[A-Za-z]{3}[a-z]*\s+)?(?P<to>\d{4}))?",
    re.IGNORECASE,
)


def ofac_birth_date(text: str) -> str | None:
    """OFAC's "07 Oct 1952", "Oct 1952", "1952", "circa 1975", "1960 to 1962" or ISO
    "1952-10-07" in the grammar of `rules.parse_birth_date`; None if unreadable."""
    text = text.strip().rstrip(".")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    match = _OFAC_DOB.fullmatch(text)
    if match is None:
        return None
    year = int(match["year"])
    if match["to"]:
        low, high = year, int(match["to"])
        if match["circa"]:
            low, high = low - 2, high + 2
        return f"{low:04d}/{high:04d}" if low < high else None
    if match["circa"]:
        return f"~{year:04d}"
    month = _MONTHS.get((match["month"] or "").casefold())
    if match["month"] and month is None:
        return None
    if month is None:
        return f"{year:04d}" if match["day"] is None else None
    if match["day"] is None:
        return f"{year:04d}-{month:02d}"
    try:
        return date(year, month, int(match["day"])).isoformat()
    except ValueError:
        return None


# --- OFAC CSV ---------------------------------------------------------------------------------

_SDN_COLUMNS: Final = 12
_ADD_COLUMNS: Final = 6
_ALT_COLUMNS: Final = 5
_COMMENT_COLUMNS: Final = 2
_REMARK_PART: Final = re.compile(r"\s*;\s*")
_REMARK_DOB: Final = re.compile(r"(?:alt\.\s+)?DOB\s+(?P<value>.+)", re.IGNORECASE)
_REMARK_COUNTRY: Final = re.compile(
    r"(?:alt\.\s+)?(?:nationality|citizen)\s+(?P<value>.+)", re.IGNORECASE
)
_REMARK_WEAK_AKA: Final = re.compile(r"a\.k\.a\.\s+'(?P<value>[^']+)'", re.IGNORECASE)


def _text_of(data: bytes, file: str) -> str:
    if len(data) > list_file_bytes_max:
        raise ListFormatError(
            f"larger than {list_file_bytes_max} bytes", file=file, code="list_file_too_large"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="strict") if _is_cp1252(data) else ""
        if not text:
            raise ListFormatError("neither UTF-8 nor Windows-1252 text", file=file) from None
    return text.rstrip("\x1a\r\n ")  # OFAC ends its CSV files with Ctrl-Z


def _is_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _csv_rows(data: bytes, file: str, columns: int) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of a headerless OFAC CSV, `-0-` turned into ""."""
    reader = csv.reader(io.StringIO(_text_of(data, file), newline=""), strict=True)
    try:
        for row in reader:
            if not row or row == [""]:
                continue
            if len(row) != columns:
                raise ListFormatError(
                    f"{len(row)} fields, expected {columns}", file=file, line=reader.line_num
                )
            yield reader.line_num, ["" if f.strip() == _NULL else f.strip() for f in row]
    except csv.Error as error:
        raise ListFormatError(str(error), file=file, line=reader.line_num) from None


def _ent_num(value: str, file: str, line: int) -> str:
    if not value.isdigit():
        raise ListFormatError(f"ent_num {value!r} is not a number", file=file, line=line)
    return str(int(value))


@dataclass
class _OfacDraft:
    """An OFAC entry being assembled from the CSV trio."""

    entity_type: EntityType
    names: list[ListName]
    programs: list[str]
    remarks: str
    line: int
    countries: list[str] = field(default_factory=list)


def parse_ofac_csv(
    sdn: bytes,
    *,
    add: bytes | None = None,
    alt: bytes | None = None,
    comments: bytes | None = None,
) -> ParsedList:
    """The OFAC SDN list from its legacy CSV files (`add`, `alt` and `comments` optional)."""
    drafts: dict[str, _OfacDraft] = {}
    for line, row in _csv_rows(sdn, "sdn.csv", _SDN_COLUMNS):
        ent_num = _ent_num(row[0], "sdn.csv", line)
        if ent_num in drafts:
            raise ListFormatError(f"ent_num {ent_num} appears twice", file="sdn.csv", line=line)
        entity_type = _OFAC_TYPES.get(row[2].casefold())
        if entity_type is None:
            raise ListFormatError(f"unknown SDN_Type {row[2]!r}", file="sdn.csv", line=line)
        if not row[1]:
            raise ListFormatError("SDN_Name is empty", file="sdn.csv", line=line)
        drafts[ent_num] = _OfacDraft(
            entity_type=entity_type,
            names=[_name(row[1], NameKind.PRIMARY)],
            programs=_ofac_programs(row[3]),
            remarks=row[11],
            line=line,
            countries=[country_code(row[9])] if row[9] else [],  # a vessel's flag
        )
        _check_size(len(drafts), "sdn.csv", line)
    _join_rows(drafts, add, "add.csv", _ADD_COLUMNS, _join_address)
    _join_rows(drafts, alt, "alt.csv", _ALT_COLUMNS, _join_alias)
    _join_rows(drafts, comments, "sdn_comments.csv", _COMMENT_COLUMNS, _join_comment)
    entries = tuple(_ofac_csv_entry(ent_num, draft) for ent_num, draft in drafts.items())
    return ParsedList(SanctionsList.OFAC_SDN, "ofac-csv", None, None, entries)


def _check_size(count: int, file: str, line: int | None) -> None:
    if count > entries_max:
        raise ListFormatError(
            f"more than {entries_max} entries", file=file, line=line, code="list_too_many_entries"
        )


def _join_rows(
    drafts: Mapping[str, _OfacDraft],
    data: bytes | None,
    file: str,
    columns: int,
    join: Callable[[_OfacDraft, list[str]], None],
) -> None:
    if data is None:
        return
    for line, row in _csv_rows(data, file, columns):
        draft = drafts.get(_ent_num(row[0], file, line))
        if draft is None:
            raise ListFormatError(f"ent_num {row[0]} is not in sdn.csv", file=file, line=line)
        join(draft, row)


def _join_address(draft: _OfacDraft, row: list[str]) -> None:
    if row[4]:
        draft.countries.append(country_code(row[4]))


def _join_alias(draft: _OfacDraft, row: list[str]) -> None:
    if row[3]:
        draft.names.append(_name(row[3], NameKind.ALIAS))


def _join_comment(draft: _OfacDraft, row: list[str]) -> None:
    draft.remarks = f"{draft.remarks} {row[1]}".strip()


def _ofac_programs(text: str) -> list[str]:
    """`SDGT] [SDT` → [SDGT, SDT]: OFAC joins several programs so in one field."""
    return [p.strip(" []") for p in text.split("] [") if p.strip(" []")]


def _ofac_csv_entry(ent_num: str, draft: _OfacDraft) -> ListEntry:
    dobs: list[str] = []
    countries = list(draft.countries)
    for part in _REMARK_PART.split(draft.remarks.rstrip(".")):
        dob = _REMARK_DOB.fullmatch(part)
        if dob is not None and (parsed := ofac_birth_date(dob["value"])) is not None:
            dobs.append(parsed)
        country = _REMARK_COUNTRY.fullmatch(part)
        if country is not None:
            countries.append(country_code(country["value"]))
    weak = [
        _name(m["value"], NameKind.WEAK_ALIAS) for m in _REMARK_WEAK_AKA.finditer(draft.remarks)
    ]
    return make_entry(
        list_name=SanctionsList.OFAC_SDN.value,
        entry_id=ent_num,
        entity_type=draft.entity_type,
        names=[*draft.names, *weak],
        dates_of_birth=dobs,
        countries=countries,
        programs=draft.programs,
    )


def _name(text: str, kind: NameKind) -> ListName:
    return ListName(text, detect_script(text), kind)


# --- XML in general ---------------------------------------------------------------------------


def _xml_root(data: bytes, file: str) -> etree._Element:
    if len(data) > list_file_bytes_max:
        raise ListFormatError(
            f"larger than {list_file_bytes_max} bytes", file=file, code="list_file_too_large"
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        tree = etree.fromstring(data, parser).getroottree()
    except etree.XMLSyntaxError as error:
        line = error.lineno if isinstance(error.lineno, int) else None
        raise ListFormatError(f"not well-formed XML: {error.msg}", file=file, line=line) from None
    if getattr(tree.docinfo, "doctype", ""):
        raise ListFormatError("a DOCTYPE is not allowed in a list file", file=file, line=1)
    return tree.getroot()


def _line(element: etree._Element) -> int | None:
    """The element's line in the file (lxml knows it; its stubs type it loosely)."""
    line = getattr(element, "sourceline", None)
    return line if isinstance(line, int) else None


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


class _Xml:
    """Namespaced look-ups on one file, with errors that name the element and its line."""

    def __init__(self, file: str, namespace: str) -> None:
        self.file = file
        self.ns = namespace

    def tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def all(self, parent: etree._Element, path: str) -> list[etree._Element]:
        return list(parent.iterfind("/".join(self.tag(p) for p in path.split("/"))))

    def text(self, parent: etree._Element, name: str) -> str:
        child = parent.find(self.tag(name))
        return " ".join((child.text or "").split()) if child is not None else ""

    def required(self, parent: etree._Element, name: str) -> str:
        value = self.text(parent, name)
        if not value:
            raise self.error(parent, f"<{name}> is missing or empty")
        return value

    def attribute(self, element: etree._Element, name: str, *, required: bool = False) -> str:
        value = " ".join((element.get(name) or "").split())
        if required and not value:
            raise self.error(element, f"attribute {name} is missing or empty")
        return value

    def error(self, element: etree._Element, detail: str) -> ListFormatError:
        return ListFormatError(detail, file=self.file, line=_line(element), element=_local(element))


def _namespace_of(root: etree._Element, file: str, allowed: Sequence[str], what: str) -> str:
    namespace = etree.QName(root).namespace or ""
    if namespace not in allowed:
        raise ListFormatError(
            f"not {what}: root <{_local(root)}> in namespace {namespace or 'none'!r}, "
            f"expected one of {', '.join(allowed)}",
            file=file,
            line=_line(root),
            element=_local(root),
            code="list_format_unknown",
        )
    return namespace


# --- OFAC XML ---------------------------------------------------------------------------------


def parse_ofac_xml(data: bytes, *, file: str = "sdn.xml") -> ParsedList:
    """The OFAC SDN list from `sdn.xml`; the record count it states must be the entries read."""
    root = _xml_root(data, file)
    xml = _Xml(file, _namespace_of(root, file, OFAC_NAMESPACES, "an OFAC SDN list"))
    if _local(root) != "sdnList":
        raise xml.error(root, "the root element must be sdnList")
    version, published_on, stated = _ofac_publication(xml, root)
    entries: list[ListEntry] = []
    seen: set[str] = set()
    for element in xml.all(root, "sdnEntry"):
        entry = _ofac_xml_entry(xml, element)
        if entry.entry_id in seen:
            raise xml.error(element, f"uid {entry.entry_id} appears twice")
        seen.add(entry.entry_id)
        entries.append(entry)
        _check_size(len(entries), file, _line(element))
    if stated is not None and stated != len(entries):
        raise xml.error(
            root, f"Record_Count says {stated} entries, the file has {len(entries)}: truncated?"
        )
    return ParsedList(SanctionsList.OFAC_SDN, "ofac-xml", version, published_on, tuple(entries))


def _ofac_publication(
    xml: _Xml, root: etree._Element
) -> tuple[str | None, date | None, int | None]:
    info = root.find(xml.tag("publshInformation"))
    if info is None:
        return None, None, None
    published = xml.text(info, "Publish_Date")
    published_on: date | None = None
    if published:
        try:
            published_on = datetime.strptime(published, "%m/%d/%Y").date()
        except ValueError:
            raise xml.error(info, f"Publish_Date {published!r} is not MM/DD/YYYY") from None
    count = xml.text(info, "Record_Count")
    if count and not count.isdigit():
        raise xml.error(info, f"Record_Count {count!r} is not a number")
    version = published_on.isoformat() if published_on else None
    return version, published_on, int(count) if count else None


def _ofac_person_name(xml: _Xml, element: etree._Element) -> str:
    """`LAST, First` as the CSV writes it (`LAST` alone for entities)."""
    last = xml.required(element, "lastName")
    first = xml.text(element, "firstName")
    return f"{last}, {first}" if first else last


def _ofac_xml_entry(xml: _Xml, element: etree._Element) -> ListEntry:
    uid = xml.required(element, "uid")
    if not uid.isdigit():
        raise xml.error(element, f"uid {uid!r} is not a number")
    sdn_type = xml.required(element, "sdnType")
    entity_type = _OFAC_TYPES.get(sdn_type.casefold())
    if entity_type is None:
        raise xml.error(element, f"unknown sdnType {sdn_type!r}")
    names = [_name(_ofac_person_name(xml, element), NameKind.PRIMARY)]
    for aka in xml.all(element, "akaList/aka"):
        weak = xml.text(aka, "category").casefold() == "weak"
        names.append(
            _name(_ofac_person_name(xml, aka), NameKind.WEAK_ALIAS if weak else NameKind.ALIAS)
        )
    dobs: list[str] = []
    for item in xml.all(element, "dateOfBirthList/dateOfBirthItem"):
        text = xml.required(item, "dateOfBirth")
        parsed = ofac_birth_date(text)
        if parsed is None:
            raise xml.error(item, f"dateOfBirth {text!r} is not a date OFAC writes")
        dobs.append(parsed)
    countries = [
        country_code(xml.text(item, "country"))
        for path in ("nationalityList/nationality", "citizenshipList/citizenship",
                     "addressList/address")
        for item in xml.all(element, path)
        if xml.text(item, "country")
    ]  # fmt: skip
    vessel = element.find(xml.tag("vesselInfo"))
    if vessel is not None and xml.text(vessel, "vesselFlag"):
        countries.insert(0, country_code(xml.text(vessel, "vesselFlag")))
    return make_entry(
        list_name=SanctionsList.OFAC_SDN.value,
        entry_id=str(int(uid)),
        entity_type=entity_type,
        names=names,
        dates_of_birth=dobs,
        countries=countries,
        programs=[p for p in (" ".join((e.text or "").split()) for e in
                              xml.all(element, "programList/program")) if p],
    )  # fmt: skip


# --- EU consolidated list ---------------------------------------------------------------------


def parse_eu_xml(data: bytes, *, file: str = "eu-fsf.xml") -> ParsedList:
    """The EU consolidated financial sanctions list from its XML 1.1 export."""
    root = _xml_root(data, file)
    xml = _Xml(file, _namespace_of(root, file, (EU_NAMESPACE,), "an EU financial sanctions list"))
    if _local(root) != "export":
        raise xml.error(root, "the root element must be export")
    version = xml.attribute(root, "generationDate") or None
    published_on: date | None = None
    if version is not None:
        try:
            published_on = datetime.fromisoformat(version).date()
        except ValueError:
            raise xml.error(root, f"generationDate {version!r} is not ISO 8601") from None
    entries: list[ListEntry] = []
    seen: set[str] = set()
    for element in xml.all(root, "sanctionEntity"):
        entry = _eu_entry(xml, element)
        if entry.entry_id in seen:
            raise xml.error(element, f"logicalId {entry.entry_id} appears twice")
        seen.add(entry.entry_id)
        entries.append(entry)
        _check_size(len(entries), file, _line(element))
    return ParsedList(SanctionsList.EU_FSF, "eu-xml", version, published_on, tuple(entries))


def _eu_entry(xml: _Xml, element: etree._Element) -> ListEntry:
    logical_id = xml.attribute(element, "logicalId", required=True)
    if not logical_id.isdigit():
        raise xml.error(element, f"logicalId {logical_id!r} is not a number")
    subject = element.find(xml.tag("subjectType"))
    if subject is None:
        raise xml.error(element, "<subjectType> is missing")
    code = xml.attribute(subject, "code", required=True)
    entity_type = _EU_TYPES.get(code)
    if entity_type is None:
        raise xml.error(subject, f"unknown subjectType code {code!r}")
    names = [_eu_name(xml, alias) for alias in xml.all(element, "nameAlias")]
    if not names:
        raise xml.error(element, "no <nameAlias>")
    names[0] = ListName(names[0].text, names[0].script, NameKind.PRIMARY)
    countries = [
        country_code(xml.attribute(item, "countryIso2Code"))
        for item in (*xml.all(element, "citizenship"), *xml.all(element, "address"))
        if xml.attribute(item, "countryIso2Code") not in ("", "00")
    ]
    return make_entry(
        list_name=SanctionsList.EU_FSF.value,
        entry_id=str(int(logical_id)),
        entity_type=entity_type,
        names=names,
        dates_of_birth=[_eu_birth_date(xml, b) for b in xml.all(element, "birthdate")],
        countries=countries,
        programs=[
            xml.attribute(r, "programme")
            for r in xml.all(element, "regulation")
            if xml.attribute(r, "programme")
        ],
    )


def _eu_name(xml: _Xml, alias: etree._Element) -> ListName:
    whole = xml.attribute(alias, "wholeName") or " ".join(
        part
        for part in (xml.attribute(alias, n) for n in ("firstName", "middleName", "lastName"))
        if part
    )
    if not whole:
        raise xml.error(alias, "neither wholeName nor firstName/lastName")
    weak = xml.attribute(alias, "strong") == "false"
    return _name(whole, NameKind.WEAK_ALIAS if weak else NameKind.ALIAS)


def _eu_birth_date(xml: _Xml, element: etree._Element) -> str:
    """`birthdate` (YYYY-MM-DD), else year/monthOfYear/dayOfMonth, else yearRangeFrom/To; a
    `circa` year widens to a range."""
    value = xml.attribute(element, "birthdate")
    year = xml.attribute(element, "year")
    month = xml.attribute(element, "monthOfYear")
    day = xml.attribute(element, "dayOfMonth")
    low = xml.attribute(element, "yearRangeFrom")
    high = xml.attribute(element, "yearRangeTo")
    circa = xml.attribute(element, "circa") == "true"
    if value:
        text = value
    elif year and month and day:
        text = (
            f"{int(year):04d}-{int(month):02d}-{int(day):02d}" if _digits(year, month, day) else "?"
        )
    elif year and month:
        text = f"{int(year):04d}-{int(month):02d}" if _digits(year, month) else "?"
    elif year:
        text = f"~{year}" if circa else year
    elif low and high:
        text = f"{low}/{high}"
    else:
        raise xml.error(element, "no birthdate, year or yearRangeFrom/yearRangeTo")
    try:
        parse_birth_date(text)
    except InvalidInput:
        raise xml.error(element, f"birth date {text!r} is not a date") from None
    return text


def _digits(*parts: str) -> bool:
    return all(part.isdigit() for part in parts)


# --- files as uploaded ------------------------------------------------------------------------


def parse_list_files(list_name: SanctionsList, files: Mapping[str, bytes]) -> ParsedList:
    """The list from the files given, by name: one XML file, the OFAC CSV files (`sdn.csv`
    and optionally `add.csv`, `alt.csv`, `sdn_comments.csv`), or a ZIP holding either."""
    if len(files) == 1:
        ((name, data),) = files.items()
        if zipfile.is_zipfile(io.BytesIO(data)):
            return parse_list_files(list_name, read_zip(data, file=name))
        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            if list_name is SanctionsList.OFAC_SDN:
                return parse_ofac_xml(data, file=name)
            return parse_eu_xml(data, file=name)
    if list_name is not SanctionsList.OFAC_SDN:
        raise ListFormatError(
            "the EU list is one XML file", file=", ".join(sorted(files)), code="list_files"
        )
    named = {_basename(name).casefold(): data for name, data in files.items()}
    unknown = sorted(set(named) - set(OFAC_CSV_FILES))
    if unknown or "sdn.csv" not in named:
        raise ListFormatError(
            "OFAC's CSV list is sdn.csv with optional add.csv, alt.csv and sdn_comments.csv",
            file=", ".join(unknown) or "sdn.csv",
            code="list_files",
        )
    return parse_ofac_csv(
        named["sdn.csv"],
        add=named.get("add.csv"),
        alt=named.get("alt.csv"),
        comments=named.get("sdn_comments.csv"),
    )


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def read_zip(data: bytes, *, file: str) -> dict[str, bytes]:
    """The members of a ZIP of list files, refusing bombs: at most `zip_members_max` files,
    no folders or paths, each and all together at most `list_file_bytes_max` once unpacked
    (counted while reading, not trusted from the header)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > zip_members_max:
            raise ListFormatError(
                f"more than {zip_members_max} files in the ZIP", file=file, code="list_zip"
            )
        read: dict[str, bytes] = {}
        total = 0
        for member in members:
            if "/" in member.filename.replace("\\", "/") or member.filename.startswith("."):
                raise ListFormatError(
                    f"{member.filename!r}: no folders or hidden files", file=file, code="list_zip"
                )
            with archive.open(member) as handle:
                content = handle.read(list_file_bytes_max - total + 1)
            total += len(content)
            if total > list_file_bytes_max:
                raise ListFormatError(
                    f"unpacks to more than {list_file_bytes_max} bytes", file=file,
                    code="list_file_too_large",
                )  # fmt: skip
            read[member.filename] = content
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise ListFormatError(f"unreadable ZIP: {error}", file=file, code="list_zip") from None
    if not read:
        raise ListFormatError("the ZIP is empty", file=file, code="list_zip")
    return read
