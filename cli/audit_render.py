"""Who did what, as ``ledgerctl audit`` prints it: from the audit records that verified.

Only records whose leaf verified against a signed checkpoint are printed (leaf format 2,
:mod:`transparency.leaf_v2`), so what an auditor reads here is what the log signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cli import render


def record_lines(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per record: position, time, type, app, actor, request id and data."""
    lines = []
    for record in records:
        data = render.dumps(record.get("data", {}), compact=True)  # whole: it is the evidence
        request = f" request {record['request_id']}" if record.get("request_id") else ""
        lines.append(
            f"{record.get('position')}  {record.get('time')}  {record.get('type')}  "
            f"app={record.get('app') or '-'}  actor={record.get('actor') or '-'}{request}  "
            f"{data}"
        )
    return lines
