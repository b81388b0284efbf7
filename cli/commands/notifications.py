"""``ledgerctl notifications``: HTTP receivers the ledger's events are sent to, signed.

A target's signing secret is printed once, by ``create``: ledgerd stores it encrypted and
never shows it again (delete the target and create another to get a new one). Admin keys
only. See docs/notifications.md for the names, the body and how to verify a signature.
"""

from __future__ import annotations

from typing import Any

import click

from cli import render
from cli.context import Session
from cli.errors import CliError
from cli.options import json_option, pass_session
from cli.tables import MISSING, table, when
from ledger_api.v1 import ledger_pb2 as pb

FORMATS = ("json", "slack")
ONCE = (
    "save this secret now, it is not shown again: the receiver checks "
    "X-Ledger-Signature-256 with it; if it is lost, delete the target and create another"
)
MAX_DELIVERIES = 500


def target_json(target: pb.NotificationTarget) -> dict[str, Any]:
    """A target as ``--json`` shows it (never its secret: the server does not send it)."""
    return {
        "id": target.id,
        "url": target.url,
        "events": list(target.events),
        "app": target.app or None,
        "format": target.format,
        "position": target.position,
        "created_at": render.timestamp(target, "created_at"),
        "actor": target.actor,
        "deleted": target.deleted,
    }


def delivery_json(delivery: pb.Delivery) -> dict[str, Any]:
    return {
        "target_id": delivery.target_id,
        "log_position": delivery.log_position,
        "delivery_id": delivery.delivery_id,
        "event": delivery.event,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "status_code": delivery.status_code or None,
        "error": delivery.error or None,
        "first_attempt_at": render.timestamp(delivery, "first_attempt_at"),
        "last_attempt_at": render.timestamp(delivery, "last_attempt_at"),
    }


def _patterns(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@click.group("notifications", invoke_without_command=True)
@json_option
@pass_session
def notifications(session: Session) -> None:
    """List notification targets (admin keys only), or create or delete one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    _list(session)


@notifications.command("list")
@json_option
@pass_session
def notifications_list(session: Session) -> None:
    """List notification targets, oldest first (never their secrets)."""
    _list(session)


def _list(session: Session) -> None:
    items = session.client.list_notification_targets()
    rows = [
        [t.id, t.url, ",".join(t.events), t.app or MISSING, t.format, str(t.position)]
        for t in items
    ]
    headers = ["ID", "URL", "EVENTS", "APP", "FORMAT", "POSITION"]
    session.emit([target_json(t) for t in items], lambda: table(headers, rows))


@notifications.command("create")
@json_option
@click.argument("url")
@click.option(
    "--events",
    required=True,
    metavar="PATTERNS",
    help="Comma-separated event names or family.* patterns (e.g. promotion.*,build.failed).",
)
@click.option("--app", "only_app", metavar="APP", default="", help="Only this app's events.")
@click.option(
    "--format",
    "body_format",
    type=click.Choice(FORMATS),
    default="json",
    show_default=True,
    help='json: the event\'s audit record; slack: a {"text": ...} line for a chat room.',
)
@pass_session
def notifications_create(
    session: Session, url: str, events: str, only_app: str, body_format: str
) -> None:
    """Send the events selected by --events to URL, signed; print the target's secret once.

    Deliveries start with the events recorded after this one (no old history is sent),
    in log order, each retried with backoff until the receiver answers 2xx.
    """
    created = session.client.create_notification_target(
        url, _patterns(events), only_app, body_format
    )
    target = created.target
    if not created.secret:
        raise CliError(
            f"target {target.id} was created but its secret was lost with the first answer: "
            f"delete it (ledgerctl notifications delete {target.id}) and create another"
        )
    data = {"target": target_json(target), "secret": created.secret}
    session.emit(
        data, lambda: f"created notification target {target.id}: {target.url}\n{created.secret}"
    )
    session.err(f"warning: {ONCE}")


@notifications.command("delete")
@json_option
@click.argument("target_id", metavar="ID")
@pass_session
def notifications_delete(session: Session, target_id: str) -> None:
    """Stop sending to target ID (its deliveries stay listed)."""
    target = session.client.delete_notification_target(target_id)
    session.emit(target_json(target), lambda: f"deleted notification target {target.id}")


@notifications.command("deliveries")
@json_option
@click.argument("target_id", metavar="[ID]", required=False, default="")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_DELIVERIES),
    default=50,
    show_default=True,
    help="How many to show.",
)
@pass_session
def notifications_deliveries(session: Session, target_id: str, limit: int) -> None:
    """Deliveries and failures, newest first (of target ID, or of every target)."""
    items = session.client.list_deliveries(target_id, limit)
    rows = [
        [
            d.target_id,
            str(d.log_position),
            d.event,
            d.status,
            str(d.attempts),
            str(d.status_code) if d.status_code else MISSING,
            when(d, "last_attempt_at"),
            d.error or MISSING,
        ]
        for d in items
    ]
    headers = ["TARGET", "POSITION", "EVENT", "STATUS", "ATTEMPTS", "HTTP", "LAST ATTEMPT", "ERROR"]
    session.emit([delivery_json(d) for d in items], lambda: table(headers, rows))
