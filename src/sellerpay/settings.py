"""Settings: one pydantic-settings object from `SELLERPAY_*` environment variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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

    # jobs and deployment (docs/deploy.md)
    deployment_mode: Literal["embedded", "distributed"] = Field(
        default="embedded",
        description="embedded: one process runs the jobs in threads; distributed: Celery "
        "workers and beat over RabbitMQ (amqp_url), and /ready checks the broker too",
    )
    jobs_queue_prefix: str = Field(
        default="sellerpay",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$",
        description="the Celery queues are <prefix>.jobs, .payout-chunks, .bank and .events; "
        "another prefix lets two environments (or test runs) share one broker",
    )
    payout_run_hour_utc: int = Field(
        default=6, ge=0, le=23, description="the scheduled payout run of a day starts this hour"
    )
    payout_chunk_redispatch_after_s: int = Field(
        default=1_800,
        ge=60,
        le=86_400,
        description="a payout run chunk still pending this long after it was sent to the "
        "workers is sent again (its message was lost); a chunk done twice changes nothing",
    )
    metrics_cache_s: float = Field(
        default=5.0, ge=0, le=300, description="/metrics reads the database at most this often"
    )

    # screening (docs/screening.md)
    screening_match_threshold: int = Field(
        default=82,
        ge=50,
        le=100,
        description="sanctions screening: a score (0-100) at or above this opens a potential "
        "match for review; 82 measured precision 0.95 and recall 0.98 on the labelled pairs",
    )

    # onboarding (docs/onboarding.md)
    onboarding_required: bool = Field(
        default=True,
        description="sellers who sent no onboarding data get no payouts; false: they keep the "
        "capabilities of their status (tests of other contexts, local experiments)",
    )
    documents_directory: Path = Field(
        default_factory=lambda: Path.cwd() / "sellerpay-documents",
        description="where uploaded onboarding documents are stored, by sha256",
    )
    document_bytes_max: int = Field(
        default=10 * 1024 * 1024, ge=1024, le=30 * 1024 * 1024, description="upload size limit"
    )
    verification_seed: int = Field(
        default=0, description="seed of the simulated verification provider's answers"
    )
    verification_failure_percent: int = Field(
        default=20, ge=0, le=100, description="share of simulated verifications that fail"
    )
    verification_delay_s: int = Field(
        default=300, ge=0, le=86_400, description="how long the simulated provider takes"
    )

    # payouts (docs/payouts.md)
    payout_approval_threshold_minor: dict[str, int] = Field(
        default={"EUR": 1_000_000, "USD": 1_000_000, "GBP": 1_000_000, "JPY": 100_000_000},
        description="payouts above this (minor units, per currency) need an approver",
    )
    payout_minimum_minor: dict[str, int] = Field(
        default={"EUR": 100, "USD": 100, "GBP": 100, "JPY": 100},
        description="default schedule minimum: smaller balances wait for the next run",
    )
    payout_fx_margin_bps: int = Field(
        default=50, ge=0, le=1_000, description="FX margin on converted payouts (revenue:fx)"
    )
    payout_return_fee_minor: dict[str, int] = Field(
        default={}, description="fee charged to the seller when the bank returns a payout"
    )
    platform_bank_account: str = Field(
        default="main", description="our bank account payouts leave from: platform:bank:<this>"
    )
    payout_run_chunk_size: int = Field(default=1_000, ge=1, le=50_000)
    originators: dict[str, dict[str, str]] = Field(
        default={
            "sepa": {
                "name": "Sellerpay Demo SAS",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPPXXX",
                "country": "FR",
            },
            "ach": {
                "name": "Sellerpay Demo Inc",
                "routing_number": "021000021",
                "account_number": "000123456789",
                "country": "US",
                "ach_immediate_destination": "021000021",
                "ach_immediate_origin": "1234567890",
                "ach_company_id": "1234567890",
                "ach_destination_name": "JPMORGAN CHASE",
            },
            "zengin": {
                "name": "Sellerpay Demo KK",
                "bank_code": "0001",
                "branch_code": "001",
                "account_number": "1234567",
                "country": "JP",
                "zengin_requester_code": "1234567890",
                "zengin_requester_name_kana": "ｾﾗ-ﾍﾟｲ ﾃﾞﾓ(ｶ",
            },
            "bacs": {
                "name": "Sellerpay Demo Ltd",
                "sort_code": "200000",
                "account_number": "55779911",
                "country": "GB",
                "bacs_service_user_number": "123456",
            },
            "provider": {
                "name": "Sellerpay Demo SAS",
                "iban": "FR7630006000011234567890189",
                "bic": "AGRIFRPPXXX",
                "country": "FR",
            },
        },
        description="our own accounts payouts leave from, per rail (name, account fields and "
        "the rail's identifiers: see docs/payouts.md)",
    )
    bank_url: str = Field(
        default="",
        description="the bank connection (simulated bank URL, e.g. "
        "http://127.0.0.1:8700); empty: `sellerpay payouts submit` needs --bank-url",
    )

    # reconciliation (docs/reconciliation.md)
    reconciliation_date_window_days: int = Field(
        default=3,
        ge=0,
        le=31,
        description="a line matches a movement by amount only if booked within this many days "
        "of its due date",
    )
    reconciliation_fee_tolerance_minor: dict[str, int] = Field(
        default={"EUR": 500, "USD": 500, "GBP": 500, "JPY": 500},
        description="a bank fee up to this (minor units, per currency) netted from a movement "
        "named by its reference still matches; the fee is booked as its own adjustment",
    )
    reconciliation_overdue_days: int = Field(
        default=5,
        ge=0,
        le=60,
        description="an expected movement not on a statement this many days after its due "
        "date becomes an exception",
    )
    reconciliation_lookback_days: int = Field(
        default=60,
        ge=1,
        le=400,
        description="how far back (by due date) movements are expected on a new statement",
    )

    # bank accounts (docs/bank-accounts.md)
    encryption_keys: SecretStr = Field(
        default=SecretStr(""),
        description="AES-256 keys encrypting bank account numbers at rest, as "
        "'kid1:base64key,kid2:base64key' (32 random bytes each; the first encrypts, all "
        "decrypt). Required in production. Unset with SQLite: a development key is derived "
        "from .sellerpay-dev-key next to the database file (created with mode 0600)",
    )
    bank_account_cooldown_hours: int = Field(
        default=72,
        ge=0,
        le=720,
        description="payouts to a newly added bank account are held this long, unless an "
        "approver releases the hold",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
