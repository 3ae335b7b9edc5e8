"""Request and response bodies of the sellers API: one schema per purpose, every string bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from sellerpay.api.fields import CountryCode, CurrencyCode, SellerId
from sellerpay.sellers.rules import RiskTier, SellerStatus, legal_name_length_max

metadata_keys_max: Final = 50
metadata_value_length_max: Final = 500
seller_id_length_max: Final = 68  # `sel_` and 64 letters or digits

LegalName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=legal_name_length_max),
    Field(description="Spaces are collapsed", examples=["Acme Refurb SAS"]),
]
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")]
MetadataText = Annotated[str, StringConstraints(max_length=metadata_value_length_max)]
Metadata = Annotated[
    dict[MetadataKey, MetadataText],
    Field(
        max_length=metadata_keys_max,
        description=f"Up to {metadata_keys_max} string values of the marketplace's own",
        examples=[{"crm_id": "A-1042"}],
    ),
]


class SellerCreate(BaseModel):
    """A seller to create. The marketplace may choose the id, so its events can name the seller."""

    model_config = ConfigDict(extra="forbid")

    id: SellerId | None = Field(default=None, description="Default: a new `sel_…` id")
    legal_name: LegalName
    country: CountryCode
    default_currency: CurrencyCode | None = Field(
        default=None, description="Default: the country's currency (FR → EUR, JP → JPY)"
    )
    risk_tier: RiskTier = RiskTier.STANDARD
    metadata: Metadata = Field(default_factory=dict)


class SellerUpdate(BaseModel):
    """Changes to a seller; a field left out is left as it is. `metadata` replaces the whole map."""

    model_config = ConfigDict(extra="forbid")

    legal_name: LegalName | None = None
    risk_tier: RiskTier | None = None
    status: SellerStatus | None = Field(
        default=None, description="active ⇄ restricted, either → closed; closed is final"
    )
    metadata: Metadata | None = None


class CapabilitiesPublic(BaseModel):
    """What the seller may do now. Provisional: derived from `status` alone until onboarding
    requirements exist, when more reasons will switch capabilities off."""

    payouts_enabled: bool
    sales_enabled: bool
    disabled_reason: str | None = Field(
        description="Why a capability is off: `seller_restricted`, `seller_closed`; null if none",
        examples=["seller_restricted"],
    )


class SellerPublic(BaseModel):
    """A seller as the API shows it; `version` is also the `ETag` to send back in `If-Match`."""

    id: str
    legal_name: str
    country: str
    default_currency: str
    risk_tier: RiskTier
    status: SellerStatus
    capabilities: CapabilitiesPublic
    metadata: dict[str, str | int | bool | None]
    version: int
    created_at: datetime
    updated_at: datetime


class SellerPage(BaseModel):
    """A page of sellers by id; pass `next_cursor` back to read the next one."""

    sellers: list[SellerPublic]
    next_cursor: str | None = Field(description="null on the last page")
