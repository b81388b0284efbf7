"""``ledgerctl keys`` and ``whoami``: deploy keys, and which one this CLI signs in with.

A key's token is printed once, by ``keys create``: the ledger keeps only its hash, so a
lost token cannot be shown again (revoke the key and create another).
"""

from __future__ import annotations

from typing import Any

import click

from cli import render
from cli.context import Session
from cli.errors import CliError
from cli.options import json_option, limit_option, pass_session
from cli.tables import MISSING, key_values, table, when
from ledger_api.v1 import ledger_pb2 as pb

ROLES = ("admin", "deployer", "auditor", "reader")
ONCE = (
    "this token is shown only this once: store it now (e.g. as LEDGER_TOKEN in a secret "
    "store); if it is lost, revoke the key and create another"
)


def key_json(key: pb.Key) -> dict[str, Any]:
    """A key as ``--json`` shows it (never a token or its hash: the server sends neither)."""
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "apps": list(key.apps),
        "created_at": render.timestamp(key, "created_at"),
        "actor": key.actor,
        "revoked_at": render.timestamp(key, "revoked_at"),
        "revoked_by": key.revoked_by or None,
    }


def scope(key: pb.Key) -> str:
    """``deployer for shop, web`` / ``admin``."""
    return f"{key.role} for {', '.join(key.apps)}" if key.apps else key.role


@click.group("keys", invoke_without_command=True)
@json_option
@limit_option()
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@pass_session
def keys(session: Session, limit: int, include_revoked: bool) -> None:
    """List deploy keys (admin keys only), or create or revoke one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    _list(session, limit, include_revoked)


@keys.command("list")
@json_option
@limit_option()
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@pass_session
def keys_list(session: Session, limit: int, include_revoked: bool) -> None:
    """List deploy keys (never their tokens), oldest first."""
    _list(session, limit, include_revoked)


def _list(session: Session, limit: int, include_revoked: bool) -> None:
    items = session.client.list_keys(limit, include_revoked)
    rows = [
        [
            k.id,
            k.name,
            k.role,
            ", ".join(k.apps) or MISSING,
            when(k, "created_at"),
            k.actor,
            when(k, "revoked_at") if k.HasField("revoked_at") else MISSING,
        ]
        for k in items
    ]
    headers = ["ID", "NAME", "ROLE", "APPS", "CREATED", "CREATED BY", "REVOKED"]
    session.emit([key_json(k) for k in items], lambda: table(headers, rows))


@keys.command("create")
@json_option
@click.option("--name", required=True, help="What the key is for (e.g. ci); events name it.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option(
    "--app",
    "apps",
    multiple=True,
    metavar="APP",
    help="An app a deployer or reader key acts on (repeatable).",
)
@pass_session
def keys_create(session: Session, name: str, role: str, apps: tuple[str, ...]) -> None:
    """Create a key and print its token, once.

    Roles: admin (everything), deployer (build, deploy, env on its apps), auditor
    (read-only, every app, env values masked), reader (read-only on its apps).
    """
    created = session.client.create_key(name, role, apps)
    key = created.key
    if not created.token:
        raise CliError(
            f"key {key.id} was created but its token was lost with the first answer: "
            f"revoke it (ledgerctl keys revoke {key.id}) and create another"
        )
    data = {"key": key_json(key), "token": created.token}
    session.emit(data, lambda: f"created key {key.name} ({key.id}): {scope(key)}\n{created.token}")
    session.err(f"warning: {ONCE}")


@keys.command("revoke")
@json_option
@click.argument("key_id", metavar="KEY")
@pass_session
def keys_revoke(session: Session, key_id: str) -> None:
    """Revoke KEY for good: its token stops working at once."""
    key = session.client.revoke_key(key_id)
    session.emit(key_json(key), lambda: f"revoked key {key.name} ({key.id})")


@click.command("whoami")
@json_option
@pass_session
def whoami(session: Session) -> None:
    """Show the key this CLI signs in with (LEDGER_TOKEN or --token)."""
    key = session.client.whoami()
    pairs = [
        ("Key", f"{key.name} ({key.id})"),
        ("Role", scope(key)),
        ("Created", when(key, "created_at")),
        ("Created by", key.actor),
    ]
    session.emit(key_json(key), lambda: key_values(pairs))
