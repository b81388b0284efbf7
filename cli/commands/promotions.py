"""``ledgerctl promotions``: the app's promotion history, one promotion, cancelling one."""

from __future__ import annotations

import click

from cli import render, views
from cli.context import Session
from cli.options import app_option, json_option, limit_option, pass_session


@click.group("promotions", invoke_without_command=True)
@app_option
@json_option
@limit_option()
@pass_session
def promotions(session: Session, limit: int) -> None:
    """List promotions, or inspect or cancel one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    items = session.client.list_promotions(session.require_app(), limit)
    session.emit([render.promotion(p) for p in items], lambda: views.promotions_table(items))


@promotions.command("info")
@app_option
@json_option
@click.argument("promotion_id", metavar="PROMOTION")
@pass_session
def promotions_info(session: Session, promotion_id: str) -> None:
    """Show one promotion: status, failure cause and every recorded step."""
    item = session.client.get_promotion(session.require_app(), promotion_id)
    session.emit(render.promotion(item), lambda: views.promotion_block(item))


@promotions.command("cancel")
@app_option
@json_option
@click.argument("promotion_id", metavar="PROMOTION")
@pass_session
def promotions_cancel(session: Session, promotion_id: str) -> None:
    """Cancel a promotion in flight; the previously active release is restored."""
    item = session.client.cancel_promotion(session.require_app(), promotion_id)
    session.emit(render.promotion(item), lambda: views.promotion_line(item))
