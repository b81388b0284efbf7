"""The first admin key of a new ledger, and the owner-only file its token is written to.

A ledger without keys could not be used at all (every RPC needs one), so the first
``ledgerd`` to start on it creates an admin key named ``admin``, prints its token once,
and writes it to ``$LEDGER_DATA/admin.token`` (mode 0600). Later starts find the key's
request record and do nothing, so the file is never rewritten; with several ``ledgerd``
on one PostgreSQL ledger, only the one that created the key writes the file (in its own
data dir).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ledger.keys import KeyService

log = logging.getLogger("ledgerd")

TOKEN_FILE = "admin.token"


def create_first_admin_key(keys: KeyService, data_dir: Path) -> int:
    """Create the first admin key if the ledger never had one; the log position of its
    creation (0 when nothing was created)."""
    created = keys.create_first_admin_key()
    if created is None:
        return 0
    path = data_dir / TOKEN_FILE
    write_secret(path, created.token + "\n")
    # The one place a secret is logged, on purpose: nobody could sign in otherwise.
    log.warning(
        "first start of this ledger: created the admin key admin (%s). Its token, shown "
        "only this once and written to %s (readable by its owner only), is: %s",
        created.outcome.key_id,
        path,
        created.token,
    )
    return created.outcome.position


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only (0600), whole
    or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask, or a stale file, left
        os.write(descriptor, text.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)
