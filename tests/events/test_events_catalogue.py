"""The event type catalogue is complete: every type the code records is listed (and documented),
so subscribers can subscribe to it by name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sellerpay.events.rules import EVENT_TYPES

SOURCE = Path(__file__).parents[2] / "src" / "sellerpay"
DOCS = Path(__file__).parents[2] / "docs" / "webhooks.md"
_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


def _literals(node: ast.expr) -> list[str]:
    """The string constants an argument can be (`"a.b"`, or `"a.b" if … else "c.d"`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def recorded_types() -> dict[str, str]:
    """Each literal event type passed to `record_event(type=…)` or to a unit of work's
    `.record("type", …)`, with where it is recorded."""
    found: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            candidates: list[str] = []
            if name == "record_event":
                candidates = [
                    v for k in node.keywords if k.arg == "type" for v in _literals(k.value)
                ]
            elif name == "record" and node.args:
                candidates = [v for v in _literals(node.args[0]) if _TYPE.fullmatch(v)]
            for event_type in candidates:
                found.setdefault(event_type, f"{path.relative_to(SOURCE)}:{node.lineno}")
    return found


def test_every_recorded_event_type_is_in_the_catalogue() -> None:
    recorded = recorded_types()

    assert {"seller.created", "webhook_endpoint.created"} <= set(recorded)  # the scan works
    missing = {t: where for t, where in recorded.items() if t not in EVENT_TYPES}
    assert missing == {}, "add these to sellerpay.events.rules.EVENT_TYPES and docs/webhooks.md"


def test_every_catalogued_type_is_documented_for_subscribers() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))

    assert set(EVENT_TYPES) <= documented
