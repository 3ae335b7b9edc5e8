"""Jobs tests run with onboarding switched off (a seller with no onboarding data keeps the
capabilities of its status), as the payouts tests do: the jobs move their money."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sellerpay.settings import get_settings


@pytest.fixture(autouse=True)
def _onboarding_not_required(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SELLERPAY_ONBOARDING_REQUIRED", "false")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
