"""`sellerpay simbank`: run the simulated bank over HTTP for the demo and manual tests."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from sellerpay.cli.runtime import console, exits_cleanly
from sellerpay.clock import Clock, FixedClock, SystemClock, ensure_utc
from sellerpay.errors import InvalidInput
from sellerpay.simbank import FAULT_PROFILES, SimulatedBank, fault_profile


@exits_cleanly
def simbank(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8700,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 to accept remote clients.")
    ] = "127.0.0.1",
    seed: Annotated[
        int, typer.Option(help="Seed of every decision the bank makes: same seed, same run.")
    ] = 1,
    faults: Annotated[
        str, typer.Option(help=f"Fault profile: {', '.join(FAULT_PROFILES)}.")
    ] = "default",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Override one fault setting, NAME=VALUE (repeatable), e.g. "
            "--fault reject_rate=0.2 --fault timeout_hold_s=5.",
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
            help="The bank's time at start (UTC when no offset); default: now. Time then moves "
            "only by POST /advance, unless --realtime.",
        ),
    ] = None,
    realtime: Annotated[
        bool,
        typer.Option(help="Follow the wall clock and play due events every --tick-s seconds."),
    ] = False,
    tick_s: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between rounds in --realtime.")
    ] = 1.0,
) -> None:
    """Serve the simulated bank until interrupted: files, inquiries, reports, provider API."""
    import uvicorn  # only this command needs the server

    from sellerpay.simbank.server import create_simbank_app

    config = fault_profile(faults, **_overrides(fault or []))
    clock: Clock = SystemClock() if realtime else FixedClock(_start(start))
    bank = SimulatedBank(clock=clock, seed=seed, faults=config)
    stop = threading.Event()
    if realtime:
        threading.Thread(
            target=_tick, args=(bank, stop, tick_s), name="simbank-clock", daemon=True
        ).start()
    console.print(
        f"Simulated bank on http://{host}:{port} (seed {seed}, faults {faults}, "
        f"{'wall clock' if realtime else 'time moves by POST /advance'}; docs: /docs)"
    )
    try:
        uvicorn.run(create_simbank_app(bank), host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _start(start: datetime | None) -> datetime:
    if start is None:
        return SystemClock().now()  # read once here; the bank itself never reads the wall clock
    return ensure_utc(start if start.tzinfo else start.replace(tzinfo=UTC))


def _overrides(settings: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in settings:
        name, equals, text = setting.partition("=")
        if not equals or not name.strip():
            raise InvalidInput(f"--fault {setting!r} is not NAME=VALUE", code="invalid_fault")
        try:
            values[name.strip()] = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidInput(
                f"--fault {setting!r}: {text!r} is not a number", code="invalid_fault"
            ) from error
    return values


def _tick(bank: SimulatedBank, stop: threading.Event, tick_s: float) -> None:
    while not stop.wait(tick_s):
        bank.advance()
