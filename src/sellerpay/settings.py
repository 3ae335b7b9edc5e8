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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
