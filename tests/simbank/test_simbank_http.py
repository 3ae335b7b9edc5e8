"""`sellerpay simbank` over HTTP: uvicorn in a thread on a free port, `HttpBank` as the client.
The HTTP bank answers exactly as the in-process one, and transport faults become BankTimeout."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
import pytest
import uvicorn
from simbank_builders import (
    MONDAY,
    ach_file,
    ach_payouts,
    new_bank,
    sepa_file,
    sepa_payouts,
    zengin_file,
    zengin_payouts,
)

from sellerpay.money import Money
from sellerpay.payouts.banking import BankConnection, BankRefused, BankTimeout
from sellerpay.rails.provider import ProviderPayoutRequest
from sellerpay.simbank import FaultConfig, SimulatedBank, fault_profile
from sellerpay.simbank.client import HttpBank, ProviderRefused
from sellerpay.simbank.server import create_simbank_app


@dataclass
class Served:
    bank: SimulatedBank
    url: str


class _Server:
    """uvicorn on a socket bound to a free port, in a daemon thread."""

    def __init__(self, bank: SimulatedBank) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        config = uvicorn.Config(create_simbank_app(bank), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self.url
            threading.Event().wait(0.05)
        raise AssertionError("the simulated bank did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@contextmanager
def serve(faults: FaultConfig = FaultConfig(), seed: int = 9) -> Iterator[Served]:
    bank, _ = new_bank(faults, seed=seed)
    with _Server(bank) as url:
        yield Served(bank, url)


@pytest.fixture
def served() -> Iterator[Served]:
    with serve() as running:
        yield running


def test_the_http_bank_answers_byte_for_byte_as_the_in_process_one() -> None:
    faults = fault_profile("chaos", timeout_before_accept_rate=0, timeout_after_accept_rate=0)
    twin, _ = new_bank(faults, seed=4)
    files = [
        ("sepa", sepa_file(sepa_payouts(8))),
        ("ach", ach_file(ach_payouts(8))),
        ("zengin", zengin_file(zengin_payouts(8))),
    ]
    with serve(faults, seed=4) as served, HttpBank(served.url, timeout=10) as client:
        connections: list[BankConnection] = [client, twin]
        for rail, sent in files:
            for connection in connections:
                connection.send(rail, sent.filename, sent.content, sent.message_id)
        for days in range(1, 8):
            client.advance(MONDAY + timedelta(days=days))
            twin.advance(MONDAY + timedelta(days=days))
        over_http = client.collect()
        in_process = twin.collect()
        assert len(over_http) > 20
        assert [(f.filename, f.content) for f in over_http] == [
            (f.filename, f.content) for f in in_process
        ]
        for rail, sent in files:
            ids = [*sent.end_to_end_ids, "PO-NEVER"]
            assert client.inquire(rail, sent.message_id, ids) == twin.inquire(
                rail, sent.message_id, ids
            )
        assert client.stats() == twin.stats().to_dict() | {"inquiries": 3}


def test_a_file_sent_twice_is_acknowledged_and_a_refusal_carries_its_reason(
    served: Served,
) -> None:
    sent = sepa_file(sepa_payouts(2))
    with HttpBank(served.url) as client:
        client.send("sepa", sent.filename, sent.content, sent.message_id)
        client.send("sepa", sent.filename, sent.content, sent.message_id)
        assert client.stats()["files_duplicate"] == 1
        other = sepa_file(sepa_payouts(3))
        with pytest.raises(BankRefused) as refused:
            client.send("sepa", other.filename, other.content, other.message_id)
        assert refused.value.reason_code == "DU01"
        with pytest.raises(BankRefused) as malformed:
            client.send("sepa", "junk.xml", b"<junk", "MSG-JUNK")
        assert malformed.value.reason_code == "FF01"
        assert "not well-formed" in str(malformed.value)


def test_a_duplicate_is_marked_as_replayed(served: Served) -> None:
    sent = sepa_file(sepa_payouts(1))
    headers = {"X-Rail": "sepa", "X-Filename": sent.filename, "X-Message-Id": sent.message_id}
    first = httpx.post(f"{served.url}/files", content=sent.content, headers=headers)
    again = httpx.post(f"{served.url}/files", content=sent.content, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {"message_id": sent.message_id, "duplicate": True, "transfer_count": 1}
    missing = httpx.post(f"{served.url}/files", content=sent.content)
    assert missing.status_code == 422


def test_a_timeout_before_accept_is_a_504_and_the_bank_knows_nothing() -> None:
    sent = sepa_file(sepa_payouts(1))
    faults = FaultConfig(timeout_before_accept_rate=1.0)
    with serve(faults) as served, HttpBank(served.url) as client:
        with pytest.raises(BankTimeout, match="504"):
            client.send("sepa", sent.filename, sent.content, sent.message_id)
        [status] = client.inquire("sepa", sent.message_id, ["PO-S0"])
        assert status.state == "unknown"


def test_a_client_that_stops_waiting_gets_bank_timeout_and_the_inquiry_finds_the_file() -> None:
    sent = sepa_file(sepa_payouts(1))
    faults = FaultConfig(timeout_after_accept_rate=1.0, timeout_hold_s=1.0)
    with serve(faults) as served:
        with (
            HttpBank(served.url, timeout=0.2) as impatient,
            pytest.raises(BankTimeout, match="ReadTimeout"),
        ):
            impatient.send("sepa", sent.filename, sent.content, sent.message_id)
        with HttpBank(served.url) as client:
            [status] = client.inquire("sepa", sent.message_id, ["PO-S0"])
            assert status.state == "accepted"


def test_a_bank_that_is_not_there_is_a_timeout_never_a_refusal() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sent = sepa_file(sepa_payouts(1))
    with HttpBank(f"http://127.0.0.1:{port}", timeout=1) as client, pytest.raises(BankTimeout):
        client.send("sepa", sent.filename, sent.content, sent.message_id)


def _request(key: str = "PO-1", amount_minor: int = 1234) -> ProviderPayoutRequest:
    [transfer] = sepa_payouts(1)
    return ProviderPayoutRequest.from_transfer(
        replace(transfer, end_to_end_id=key, amount=Money(amount_minor, "EUR"))
    )


def test_the_provider_api_is_idempotent_per_key_and_refuses_a_reused_key(served: Served) -> None:
    with HttpBank(served.url) as client:
        first = client.pay_via_provider(_request())
        again = client.pay_via_provider(_request())
        assert first == again
        assert first.status == "accepted"
        with pytest.raises(ProviderRefused) as conflict:
            client.pay_via_provider(_request(amount_minor=1))
        assert (conflict.value.status, conflict.value.error.code) == (409, "idempotency_key_reused")
        client.advance(MONDAY + timedelta(days=1))
        assert client.provider_payout(first.id).status == "paid"
        with pytest.raises(ProviderRefused) as unknown:
            client.provider_payout("pp_unknown")
        assert unknown.value.status == 404
    assert served.bank.stats().executed == {"PO-1": 1}


def test_the_provider_api_answers_201_then_200_replayed(served: Served) -> None:
    body = _request().to_json()
    url = f"{served.url}/provider/payouts"
    headers = {"Idempotency-Key": "PO-1", "Content-Type": "application/json"}
    created = httpx.post(url, content=body, headers=headers)
    replayed = httpx.post(url, content=body, headers=headers)
    assert (created.status_code, replayed.status_code) == (201, 200)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert created.json() == replayed.json()


@pytest.mark.parametrize(
    ("body", "key", "where"),
    [
        ({"amount": {"amount_minor": 12.34, "currency": "EUR"}}, "PO-1", "$.amount.amount_minor"),
        ({}, "PO-2", "Idempotency-Key"),
        ({}, None, "Idempotency-Key"),
    ],
)
def test_a_malformed_provider_request_is_refused_naming_the_field(
    served: Served, body: dict[str, object], key: str | None, where: str
) -> None:
    payload = json.loads(_request().to_json()) | body
    headers = {"Idempotency-Key": key} if key else {}
    answer = httpx.post(f"{served.url}/provider/payouts", json=payload, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["where"] == where
    assert served.bank.stats().provider_requests == 0
