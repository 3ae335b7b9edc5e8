"""How a process shows what it does: structured logs, readiness checks, and probe endpoints.

- Logs: structlog configured once per process (JSON lines, or a console for people), the
  standard library's loggers (Celery, uvicorn) routed through the same renderer, and the
  request-id middleware that puts `request_id` — and the payout, seller or run named in the
  path — on every log line of a request. Context travels in structlog's context variables:
  `bound_ids(payout_id=…)` in a job, the middleware in the API.
- Readiness (`readiness_checks`): the database answers, its schema is at the newest migration,
  and in distributed mode the broker accepts connections. The API's `/ready` answers with it.
- Probes for the processes that serve no HTTP (worker, beat, consumer): run any command as
  `python -m sellerpay.observability --probe-port 8080 -- worker …`, which answers `/health`
  (the process is alive) and `/ready` on that port while the command runs in the same process.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, Literal

import pika
import pika.exceptions
import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sellerpay.db import Database
from sellerpay.db.migrate import current_revision, head_revision
from sellerpay.ids import uuid7
from sellerpay.settings import Settings, get_settings

REQUEST_ID_HEADER: Final = "X-Request-ID"
request_id_length_max: Final = 128
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_PATH_IDS: Final = {"po_": "payout_id", "sel_": "seller_id", "run_": "run_id"}
_HANDLER_NAME: Final = "sellerpay-structlog"
_CHATTY_LOGGERS: Final = ("pika", "alembic.runtime.migration")
broker_timeout_s: Final = 2.0
broker_check_cache_s: Final = 5.0
CheckResult = Literal["ok", "skipped", "failed"]
log = structlog.get_logger(__name__)


class _CurrentStderr:
    """Writes each line to the standard error of the moment (a test runner may swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _stderr_logger(*_args: Any) -> _CurrentStderr:
    return _CurrentStderr()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(settings: Settings | None = None) -> None:
    """Configure structlog and the standard library's root logger for this process.

    `log_json`: one JSON object per line (`timestamp`, `level`, `event`, the context ids);
    otherwise a console format for people. `log_level` filters both. Safe to call again.
    """
    chosen = settings or get_settings()
    level = logging.getLevelName(chosen.log_level.upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {chosen.log_level!r}")
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if chosen.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(level, renderer)


def _route_standard_logging(level: int, renderer: Any) -> None:
    """Celery's, uvicorn's and SQLAlchemy's own lines in the same format, on standard error."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_shared_processors(), structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in _CHATTY_LOGGERS:  # a line per connection opened: noise at INFO
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


@contextmanager
def bound_ids(**ids: str | int | None) -> Iterator[None]:
    """Put these ids (`payout_id`, `run_id`, `request_id`…) on every log line of the block."""
    present = {key: value for key, value in ids.items() if value is not None}
    with structlog.contextvars.bound_contextvars(**present):
        yield


def request_id_from(headers: MutableMapping[str, str] | Any) -> str:
    """The caller's `X-Request-ID` when it is a sane token, else a new one (a UUIDv7)."""
    given = headers.get(REQUEST_ID_HEADER.lower()) or ""
    return given if _REQUEST_ID.fullmatch(given) else uuid7().hex


def ids_in_path(path: str) -> dict[str, str]:
    """The payout, seller and run ids a path names (`/v1/payouts/po_…` → payout_id)."""
    found: dict[str, str] = {}
    for segment in path.split("/"):
        for prefix, key in _PATH_IDS.items():
            if segment.startswith(prefix) and len(segment) <= request_id_length_max:
                found.setdefault(key, segment)
    return found


class RequestIdMiddleware:
    """Gives every request an id (the caller's `X-Request-ID`, or a new one), answers it in the
    same header, binds it — and the ids in the path — to the logs, and logs one line per
    request with its status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = request_id_from(headers)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        with structlog.contextvars.bound_contextvars(
            request_id=request_id, **ids_in_path(scope["path"])
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )


# --- readiness -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Readiness:
    """Each check (`database`, `migrations`, `broker`) and what failed, in words."""

    checks: dict[str, CheckResult]
    failures: list[str] = field(default_factory=list)
    schema_revision: str | None = None

    @property
    def ready(self) -> bool:
        return not self.failures


_head_lock = threading.Lock()
_head: list[str | None] = []


def _head_revision() -> str | None:
    with _head_lock:
        if not _head:
            _head.append(head_revision())
        return _head[0]


def readiness_checks(db: Database, settings: Settings) -> Readiness:
    """The database answers, its schema is at the newest migration (an instance of a newer
    release waits for `sellerpay db upgrade`), and in distributed mode the broker accepts a
    connection."""
    checks: dict[str, CheckResult] = {}
    failures: list[str] = []
    revision: str | None = None
    try:
        revision = current_revision(db)
        checks["database"] = "ok"
    except SQLAlchemyError:
        checks["database"] = "failed"
        failures.append("the database does not answer")
    at_head = checks["database"] == "ok" and revision == _head_revision()
    checks["migrations"] = "ok" if at_head else "failed"
    if checks["database"] == "ok" and not at_head:
        failures.append(f"the schema is at {revision or 'nothing'}, not {_head_revision()}")
    if settings.deployment_mode == "distributed":
        checks["broker"] = "ok" if broker_reachable(settings.amqp_url) else "failed"
        if checks["broker"] == "failed":
            failures.append("the broker does not accept connections")
    else:
        checks["broker"] = "skipped"
    return Readiness(checks, failures, revision)


_broker_lock = threading.Lock()
_broker_seen: dict[str, tuple[float, bool]] = {}


def broker_reachable(amqp_url: str) -> bool:
    """Open and close a connection (the answer is cached a few seconds: probes come often)."""
    with _broker_lock:
        seen = _broker_seen.get(amqp_url)
        if seen is not None and time.monotonic() - seen[0] < broker_check_cache_s:
            return seen[1]
    try:
        parameters = pika.URLParameters(amqp_url)
        parameters.socket_timeout = broker_timeout_s
        parameters.connection_attempts = 1
        parameters.client_properties = {"connection_name": "sellerpay readiness check"}
        pika.BlockingConnection(parameters).close()
        reachable = True
    except (pika.exceptions.AMQPError, OSError, ValueError):
        reachable = False
    with _broker_lock:
        _broker_seen[amqp_url] = (time.monotonic(), reachable)
    return reachable


# --- probes for processes that serve no HTTP ------------------------------------------------


def start_probe_server(
    port: int, *, db: Database, settings: Settings, host: str = "0.0.0.0"
) -> ThreadingHTTPServer:
    """Answer `GET /health` (200 while the process lives) and `GET /ready` (200, or 503 with
    the failing checks) on `port`, from a daemon thread; `shutdown()` stops it."""

    class Probes(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                self._answer(200, {"status": "ok"})
            elif self.path == "/ready":
                result = readiness_checks(db, settings)
                body = {"status": "ready" if result.ready else "not_ready", "checks": result.checks}
                if result.failures:
                    body["detail"] = "; ".join(result.failures)
                self._answer(200 if result.ready else 503, body)
            else:
                self._answer(404, {"status": "not_found"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds
            pass

    server = ThreadingHTTPServer((host, port), Probes)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="sellerpay-probes", daemon=True).start()
    return server


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m sellerpay.observability --probe-port PORT -- COMMAND [ARGS…]`: run the
    `sellerpay` COMMAND in this process with the probe endpoints on PORT."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[0] != "--probe-port" or not args[1].isdigit():
        sys.exit("usage: python -m sellerpay.observability --probe-port PORT -- COMMAND [ARGS…]")
    port, command = int(args[1]), args[2:]
    if command and command[0] == "--":
        command = command[1:]
    settings = get_settings()
    db = Database(settings.database_url, pool_size=1)
    server = start_probe_server(port, db=db, settings=settings)
    from sellerpay.cli.main import app

    try:
        app(command, prog_name="sellerpay")
    finally:
        server.shutdown()
        db.dispose()


if __name__ == "__main__":
    main()
