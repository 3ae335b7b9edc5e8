"""Settings: one pydantic-settings object from `SELLERPAY_*` environment variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything that may differ between machines. Secrets come from here, never from code."""

    model_config = SettingsConfigDict(
        env_prefix="SELLERPAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path.cwd() / 'sellerpay.db'}",
        description="SQLAlchemy URL. Default: a SQLite file (WAL) in the working directory; "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=False, description="Structured JSON logs instead of console")
    api_page_size_max: int = Field(default=500, ge=1, le=10_000)
    ledger_batch_size_max: int = Field(default=10_000, ge=1, le=100_000)
    api_batch_size_max: int = Field(default=1_000, ge=1, le=10_000)

    # money in (settlement)
    holding_days_low: int = Field(default=3, ge=0, le=365, description="risk tier low")
    holding_days_standard: int = Field(default=7, ge=0, le=365, description="risk tier standard")
    holding_days_high: int = Field(default=14, ge=0, le=365, description="risk tier high")
    release_without_delivery_days: int = Field(
        default=30, ge=1, le=365, description="release this long after payment if never delivered"
    )
    adjustment_approval_threshold_minor: dict[str, int] = Field(
        default={"EUR": 50_000, "USD": 50_000, "GBP": 50_000, "JPY": 5_000_000},
        description="adjustments above this (minor units, per currency) need a second person",
    )
    dispute_fee_minor: dict[str, int] = Field(
        default={"EUR": 1_500, "USD": 1_500, "GBP": 1_500, "JPY": 2_000},
        description="fee charged to the seller when a dispute is lost (minor units)",
    )

    # events out
    webhook_retry_horizon_hours: int = Field(default=72, ge=1, le=720)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_allow_http: bool = Field(
        default=True,
        description="accept plain http:// webhook URLs (local use); set false in production",
    )
    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/%2F")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
