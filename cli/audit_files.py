"""What ``ledgerctl audit`` keeps on the auditor's side: the log's public key and the
last checkpoint verified for each server.

The saved checkpoint is the auditor's memory of the log: the next check proves that the
server's log extends it, so a server that rewrote or truncated history cannot hide it.
It is saved under the state directory (``--state-dir``, ``$LEDGER_STATE_DIR``,
``$XDG_STATE_HOME/ledgerctl`` or ``~/.local/state/ledgerctl``) as
``checkpoints/<host>.txt``, the signed note exactly as the server sent it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import click

from transparency import PublicKey, VerificationError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def public_key(value: str | None, environ: Mapping[str, str]) -> PublicKey | None:
    """The key of ``--key`` (a file holding the key, or the key itself) or of
    ``$LEDGER_PUBLIC_KEY``; None when neither is given. A bad key is a usage error."""
    raw = (value or environ.get("LEDGER_PUBLIC_KEY") or "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    try:
        text = path.read_text("utf-8") if path.is_file() else raw
    except (OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"cannot read {raw}: {error}", param_hint="--key") from None
    try:
        return PublicKey.from_text(text)
    except VerificationError as error:
        raise click.BadParameter(
            f"{error} (give the line `ledgerd audit public-key` prints, or a file holding it)",
            param_hint="--key",
        ) from None


def require_public_key(value: str | None, environ: Mapping[str, str]) -> PublicKey:
    key = public_key(value, environ)
    if key is None:
        raise click.UsageError(
            "no public key: pass --key (the key, or a file holding it) or set LEDGER_PUBLIC_KEY"
        )
    return key


def state_dir(value: str | None, environ: Mapping[str, str]) -> Path:
    """``--state-dir``, else ``$LEDGER_STATE_DIR``, else the XDG state directory."""
    if value:
        return Path(value).expanduser()
    if environ.get("LEDGER_STATE_DIR"):
        return Path(environ["LEDGER_STATE_DIR"]).expanduser()
    if environ.get("XDG_STATE_HOME"):
        return Path(environ["XDG_STATE_HOME"]) / "ledgerctl"
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    return home / ".local" / "state" / "ledgerctl"


class SavedCheckpoints:
    """The last checkpoint saved for each server, one file per host."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "checkpoints"

    def path(self, host: str) -> Path:
        return self.directory / f"{_UNSAFE.sub('_', host)}.txt"

    def load(self, host: str) -> str | None:
        path = self.path(host)
        try:
            return path.read_text("utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            message = f"cannot read the saved checkpoint {path}: {error}"
            raise click.ClickException(message) from None

    def save(self, host: str, text: str) -> Path:
        """Replace the host's checkpoint atomically (a crash leaves the old or the new)."""
        path = self.path(host)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text, "utf-8", newline="\n")
        os.replace(temporary, path)
        return path


def note_size(text: str) -> int | None:
    """The size line of a checkpoint note, read without verifying it (None if malformed)."""
    lines = text.split("\n")
    return int(lines[1]) if len(lines) > 1 and re.fullmatch("[0-9]+", lines[1]) else None
