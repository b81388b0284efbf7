"""The pin of every event class's fields at its class version (``tests/fixtures/
event-fields.json``), and the rules a change to the events must follow to be re-pinned.

    PYTHONPATH=. python -m tests.unit.ledger.event_pins     # re-pin, after following them

Logs are kept forever and read by every later version, so an event's stored form may only
change with a new class version and its upcaster, and anything an older ``ledgerd`` could
not read (a new event type, a new class version) with a new ``ledger.schema.LOG_SCHEMA``.
Re-pinning refuses a change that breaks these rules. Only the field names and their
declared types are pinned: the shape inside a ``dict`` field is part of its meaning, and
changing it needs a new class version just the same.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from ledger.domain.registry import event_classes
from ledger.schema import LOG_SCHEMA

PIN = Path(__file__).resolve().parents[2] / "fixtures" / "event-fields.json"
REPIN = "PYTHONPATH=. python -m tests.unit.ledger.event_pins"


def current() -> dict[str, Any]:
    """This code's events: ``{topic: {class_version, fields: {name: declared type}}}``."""
    events = {
        kind.TOPIC: {
            "class_version": getattr(kind, "class_version", 1),
            "fields": {field.name: str(field.type) for field in dataclasses.fields(kind)},
        }
        for kind in event_classes()
    }
    return {"log_schema": LOG_SCHEMA, "events": dict(sorted(events.items()))}


def pinned() -> dict[str, Any]:
    pin: dict[str, Any] = json.loads(PIN.read_text())
    return pin


def broken_rules(pin: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What the change from ``pin`` to ``now`` must do first, one line per event."""
    problems: list[str] = []
    newer: list[str] = []
    for topic, was in pin["events"].items():
        event = now["events"].get(topic)
        if event is None:
            problems.append(f"{topic} is gone: logs hold it forever, keep the event class")
            continue
        version = was["class_version"]
        if event["class_version"] < version:
            problems.append(f"{topic}: class_version went down from {version}")
        elif event["class_version"] == version and event["fields"] != was["fields"]:
            problems.append(
                f"{topic} changed its fields at class_version {version}: set class_version = "
                f"{version + 1}, add upcast_v{version}_v{version + 1} (and a test decoding a "
                f"v{version} state), and bump LOG_SCHEMA in ledger/schema.py"
            )
        elif event["class_version"] > version:
            newer.append(topic)
    newer.extend(topic for topic in now["events"] if topic not in pin["events"])
    if newer and now["log_schema"] <= pin["log_schema"]:
        problems.append(
            f"{', '.join(newer)} cannot be read by older ledgerd (new event types or class "
            f"versions): bump LOG_SCHEMA in ledger/schema.py to {pin['log_schema'] + 1}"
        )
    return problems


def main() -> None:
    now = current()
    problems = broken_rules(pinned(), now) if PIN.exists() else []
    if problems:
        print("not re-pinned:\n" + "\n".join(problems), file=sys.stderr)
        raise SystemExit(1)
    PIN.write_text(json.dumps(now, indent=1) + "\n")
    print(f"pinned {len(now['events'])} event classes at log schema {now['log_schema']}")


if __name__ == "__main__":
    main()
