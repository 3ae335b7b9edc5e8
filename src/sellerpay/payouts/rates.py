"""The ECB euro foreign exchange reference rates (eurofxref-daily.xml / -hist.xml): parsed
into (base, quote, rate, day). Pure; the rates are stored by `service.store_rates`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from sellerpay.errors import InvalidInput

_GESMES = "http://www.gesmes.org/xml/2002-08-01"
_ECB = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"


@dataclass(frozen=True, slots=True)
class DailyRates:
    day: date
    rates: tuple[tuple[str, str, Decimal], ...]  # ("EUR", quote, rate)


def parse_ecb_rates(data: bytes) -> list[DailyRates]:
    """Every day of an ECB reference-rate file, oldest first; precise errors on bad input."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise InvalidInput(
            f"the ECB rates file is not XML: {error}", code="malformed_rates"
        ) from error
    if etree.QName(root).localname != "Envelope":
        raise InvalidInput(
            "not an ECB eurofxref file (no gesmes:Envelope root)", code="malformed_rates"
        )
    days: list[DailyRates] = []
    for cube in root.iter(f"{{{_ECB}}}Cube"):
        when = cube.get("time")
        if when is None:
            continue
        try:
            day = date.fromisoformat(when)
        except ValueError as error:
            raise InvalidInput(
                f"bad time {when!r} on line {cube.sourceline}", code="malformed_rates"
            ) from error
        rates = []
        for child in cube:
            currency, rate = child.get("currency"), child.get("rate")
            if not currency or not rate:
                raise InvalidInput(
                    f"a Cube without currency or rate on line {child.sourceline}",
                    code="malformed_rates",
                )
            try:
                value = Decimal(rate)
            except InvalidOperation as error:
                raise InvalidInput(
                    f"rate {rate!r} of {currency} on line {child.sourceline} is not a number",
                    code="malformed_rates",
                ) from error
            if value <= 0:
                raise InvalidInput(
                    f"rate of {currency} must be positive (line {child.sourceline})",
                    code="malformed_rates",
                )
            rates.append(("EUR", currency, value))
        days.append(DailyRates(day, tuple(rates)))
    if not days:
        raise InvalidInput("the ECB rates file holds no day of rates", code="malformed_rates")
    return sorted(days, key=lambda d: d.day)
