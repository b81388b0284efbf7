"""``ledgerd``: serve the ledger over gRPC, or rebuild its projections.

Settings are read once from ``LEDGER_*`` variables and passed down; bad settings are
one line on stderr and exit status 2. Logs never contain environment values.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
from eventsourcing.persistence import PersistenceError

from ledger.errors import LedgerError
from ledger.schema import LOG_SCHEMA
from server.bootstrap import Container, backend_name, bootstrap, package_version
from server.infra.settings import Settings
from server.infra.signing import signing_key

log = logging.getLogger("ledgerd")

SHUTDOWN_GRACE_SECONDS = 5.0
EXIT_SETTINGS = 2
EXIT_FAILURE = 1
NOISY_LOGGERS = ("asyncio", "grpc", "eventsourcing", "psycopg")
VERSION_MESSAGE = f"%(prog)s, version %(version)s (log schema {LOG_SCHEMA})"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except LedgerError as error:
        click.echo(f"ledgerd: {error}", err=True)
        raise SystemExit(EXIT_SETTINGS) from None


def _configure_logging(settings: Settings) -> None:
    named = logging.getLevelName(settings.log_level)
    level = named if isinstance(named, int) else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Libraries log warnings and errors only; LEDGER_LOG_LEVEL=DEBUG adds ledgerd's
    # own lines (one per request), not the libraries' internals.
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(invoke_without_command=True)
@click.version_option(package_version(), prog_name="ledgerd", message=VERSION_MESSAGE)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Deploy Ledger server. Without a command: serve."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@main.command()
def serve() -> None:
    """Serve the ledger over gRPC on $LEDGER_LISTEN (default 127.0.0.1:50051)."""
    settings = _settings()
    _configure_logging(settings)
    try:
        with asyncio.Runner(loop_factory=_loop_factory(settings)) as runner:
            runner.run(_serve(settings))
    except PersistenceError as error:
        click.echo(f"ledgerd: the database is unavailable: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    except (LedgerError, OSError, RuntimeError) as error:
        click.echo(f"ledgerd: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None


def _loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop to serve on (None: Python's own). Under load the loop's own work per
    call is a large share of ``ledgerd``'s CPU; uvloop does it in C (README, "Performance")."""
    if settings.event_loop == "uvloop":
        import uvloop  # loaded only when chosen

        return uvloop.new_event_loop
    return None


async def _serve(settings: Settings) -> None:
    from server.serve import Ledgerd, serve  # grpc loads only when serving

    def announce(server: Ledgerd) -> None:
        if server.console is not None:  # before the ready line, which tools wait for
            click.echo(f"ledgerd console on {server.console.url}", err=True)
        if server.metrics is not None:
            click.echo(f"ledgerd metrics on {server.metrics.url} (no auth)", err=True)
        click.echo(
            f"ledgerd {package_version()} listening on {server.address} "
            f"({backend_name(settings)}, runtime {settings.runtime}, {settings.event_loop}"
            f"{', TLS' if settings.tls_cert else ''})",
            err=True,
        )
        public_key = server.container.audit_log.public_key.to_text()
        log.info("checkpoints of the log are signed by the public key %s", public_key)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop, announce, SHUTDOWN_GRACE_SECONDS)


@main.group()
def audit() -> None:
    """The log's tamper evidence."""


@audit.command("public-key")
def public_key_command() -> None:
    """Print the public key that verifies the log's signed checkpoints.

    Creates the signing key ($LEDGER_SIGNING_KEY, default $LEDGER_DATA/signing.key) if it
    does not exist yet. Give the line to auditors: ledgerctl audit verify --key '<line>'.
    """
    settings = _settings()
    try:
        key = signing_key(settings)
    except (LedgerError, OSError) as error:
        click.echo(f"ledgerd: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    click.echo(key.public_key().to_text())


@audit.command("scrub")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N events.")
@click.option(
    "--from", "first", type=click.IntRange(min=1), help="From this tree position (1: the first)."
)
@click.option("--to", "last_position", type=click.IntRange(min=1), help="Up to this position.")
def scrub_command(last: int | None, first: int | None, last_position: int | None) -> None:
    """Compare the stored events with the log's Merkle tree; exit 1 at the first mismatch.

    Read-only and safe while ledgerd serves (it takes no lock). A mismatch is kept as the
    ledger's integrity finding: every ledgerd of the ledger then refuses writes. A full
    scrub (no option) that passes clears a standing finding.
    """
    settings = _settings()
    if last is not None and (first is not None or last_position is not None):
        click.echo("ledgerd: --last goes without --from and --to", err=True)
        raise SystemExit(EXIT_SETTINGS)
    try:
        message, clean = _scrub(settings, last, first, last_position)
    except (LedgerError, PersistenceError, OSError) as error:
        click.echo(f"ledgerd: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    click.echo(message, err=not clean)
    if not clean:
        raise SystemExit(EXIT_FAILURE)


def _scrub(
    settings: Settings, last: int | None, first: int | None, last_position: int | None
) -> tuple[str, bool]:
    from server.infra.scrubbing import scrub_and_report

    return scrub_and_report(settings, last=last, first=first, last_position=last_position)


@main.group()
def projections() -> None:
    """Maintain the read models."""


@projections.command("rebuild")
def rebuild_command() -> None:
    """Drop the projections and rebuild them from log position 0."""
    settings = _settings()
    _configure_logging(settings)
    try:
        container = bootstrap(settings)
        try:
            count, seconds = _rebuild(container)
        finally:
            container.close()
    except (LedgerError, PersistenceError) as error:
        click.echo(f"ledgerd: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    rate = count / seconds if seconds > 0 else float(count)
    click.echo(f"rebuilt projections from {count} events in {seconds:.2f} s ({rate:.0f} events/s)")


def _rebuild(container: Container) -> tuple[int, float]:
    from projections import rebuild

    started = time.perf_counter()
    count = rebuild(container.ledger, container.views)
    return int(count), time.perf_counter() - started


# --- backup and restore (server/backup; docs/operations.md) ---

BACKUP_TIMEOUT_SECONDS = 60.0


@main.command("backup")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (replaced atomically if it exists).",
)  # fmt: skip
@click.option(
    "--timeout", type=click.FloatRange(min=0), default=BACKUP_TIMEOUT_SECONDS, show_default=True,
    help="Seconds to wait for the projections' tree to cover the snapshot.",
)  # fmt: skip
def backup_command(out: Path, timeout: float) -> None:
    """Back up the whole log, with a checkpoint signed over it, while ledgerd serves."""
    from server.backup import take_backup

    settings = _settings()
    try:
        summary = take_backup(
            settings, out, version=package_version(), backend=backend_name(settings),
            timeout=timeout,
        )  # fmt: skip
    except (LedgerError, PersistenceError, OSError) as error:
        click.echo(f"ledgerd: backup failed: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    bounds = summary.bounds
    click.echo(
        f"backed up {bounds.count} events (log positions {bounds.first}-{bounds.last}) to "
        f"{summary.path}, {summary.size} bytes, in {summary.seconds:.2f} s; "
        f"checkpoint {summary.checkpoint.describe()}"
    )


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key", default=None,
    help="Public key (or a file holding it) the backup's checkpoint must be signed by; "
    "default: the configured signing key's.",
)  # fmt: skip
def restore_command(file: Path, key: str | None) -> None:
    """Restore a backup into an empty ledger, verified against its signed checkpoint."""
    from server.backup import public_key, restore_backup

    settings = _settings()
    try:
        summary = restore_backup(
            settings, file, public_key(settings, key), version=package_version()
        )
    except (LedgerError, PersistenceError, OSError) as error:
        click.echo(f"ledgerd: restore refused: {error}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    header = summary.header
    click.echo(
        f"restored {header.count} events (log positions {header.first_position}-"
        f"{header.last_position}) in {summary.seconds:.2f} s; verified against the checkpoint "
        f"{summary.checkpoint.describe()} signed by {summary.key.to_text()}; projections rebuilt"
    )
