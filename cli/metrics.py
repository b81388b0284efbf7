"""``ledgerctl apps metrics``: the DORA metrics as JSON (snake_case keys) and as text.

JSON keeps every figure the server sent, unset figures as ``null``: durations in seconds,
the failure rate as a fraction, frequency per day. The text is a summary of the four
metrics over the window, then one row per period.
"""

from __future__ import annotations

from google.protobuf.message import Message

from cli.render import JsonDict, timestamp
from cli.tables import MISSING, duration_text, key_values, short_time, table
from ledger_api.v1 import ledger_pb2 as pb


def _optional(message: Message, field: str) -> float | None:
    return float(getattr(message, field)) if message.HasField(field) else None


def _metric(metric: pb.DeployMetric) -> JsonDict:
    return {
        "value": _optional(metric, "value"),
        "p90": _optional(metric, "p90"),
        "count": metric.count,
        "series": [
            {
                "start": timestamp(point, "start"),
                "end": timestamp(point, "end"),
                "value": _optional(point, "value"),
                "count": point.count,
            }
            for point in metric.series
        ],
    }


def as_json(m: pb.DeployMetrics) -> JsonDict:
    return {
        "app": m.app or None,
        "apps": list(m.apps),
        "period": m.period,
        "start": timestamp(m, "start"),
        "end": timestamp(m, "end"),
        "days": m.days,
        "deployment_frequency": _metric(m.deployment_frequency),
        "lead_time": _metric(m.lead_time),
        "lead_time_base": m.lead_time_base or None,
        "change_failure_rate": _metric(m.change_failure_rate),
        "failures": m.failures,
        "time_to_restore": _metric(m.time_to_restore),
        "unrestored": m.unrestored,
        "rollback_window_seconds": m.rollback_window_seconds,
    }


def _duration(message: Message, field: str = "value") -> str:
    value = _optional(message, field)
    return MISSING if value is None else duration_text(round(value))


def _rate(message: Message) -> str:
    value = _optional(message, "value")
    return MISSING if value is None else f"{value:.0%}"


def _summary(m: pb.DeployMetrics) -> str:
    lead, restore = m.lead_time, m.time_to_restore
    frequency = _optional(m.deployment_frequency, "value")
    base = f" from the {m.lead_time_base}" if m.lead_time_base else ""
    pairs = [
        ("Apps", ", ".join(m.apps) or MISSING),
        ("Window", f"{short_time(m.start.ToDatetime())} to {short_time(m.end.ToDatetime())}"),
        (
            "Deployment frequency",
            f"{frequency:.2f}/day ({m.deployment_frequency.count} deployments)"
            if frequency is not None
            else MISSING,
        ),
        (
            "Lead time",
            f"{_duration(lead)} median, {_duration(lead, 'p90')} p90{base} ({lead.count})"
            if lead.HasField("value")
            else MISSING,
        ),
        (
            "Change failure rate",
            f"{_rate(m.change_failure_rate)} ({m.failures} of {m.change_failure_rate.count})"
            if m.change_failure_rate.HasField("value")
            else MISSING,
        ),
        (
            "Time to restore",
            f"{_duration(restore)} median, {_duration(restore, 'p90')} p90 ({restore.count})"
            if restore.HasField("value")
            else MISSING,
        ),
        ("Not restored", str(m.unrestored)),
    ]
    return key_values(pairs)


def human(m: pb.DeployMetrics) -> str:
    """The summary, then a row per period (for ``week``: its Monday; ``all``: none)."""
    if m.period == "all":
        return _summary(m)
    rows = [
        [
            short_time(point.start.ToDatetime())[:10],
            str(point.count),
            _duration(lead),
            _rate(failure),
            _duration(restore),
        ]
        for point, lead, failure, restore in zip(
            m.deployment_frequency.series,
            m.lead_time.series,
            m.change_failure_rate.series,
            m.time_to_restore.series,
            strict=True,
        )
    ]
    headers = [m.period.capitalize(), "Deploys", "Lead time", "Failure rate", "Restore"]
    return _summary(m) + "\n\n" + table(headers, rows, right=(1, 2, 3, 4))
