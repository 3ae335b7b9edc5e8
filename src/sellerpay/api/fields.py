"""Field types shared by the request schemas of several contexts: one definition of a seller id,
a currency code, a country code, so every route validates and documents them alike."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

SellerId = Annotated[
    str,
    StringConstraints(pattern=r"^sel_[0-9A-Za-z]{1,64}$"),
    Field(description="`sel_` then 1 to 64 letters or digits", examples=["sel_acme_refurb_42"]),
]
CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217, upper case", examples=["EUR"]),
]
CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    Field(description="ISO 3166-1 alpha-2, upper case", examples=["FR"]),
]
