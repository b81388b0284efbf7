"""The one exception tree of Deploy Ledger.

Every error raised on purpose by the domain or the application derives from
:class:`LedgerError`. Each boundary translates it exactly once: the gRPC server maps
the class to a status code, the CLI maps status codes to exit codes. Messages are
written for the person who sent the request and never contain environment values.
"""


class LedgerError(Exception):
    """Base class: a request was refused and nothing was recorded."""


class InvalidArgument(LedgerError):
    """The request is malformed whatever the state of the ledger."""


class NotFound(LedgerError):
    """A named app, build, release or promotion does not exist (in that app)."""


class AlreadyExists(LedgerError):
    """A resource with that name exists already."""


class FailedPrecondition(LedgerError):
    """The request is valid but the ledger's state does not allow it now."""


class Conflict(LedgerError):
    """A concurrent or stale write: re-read and try again (e.g. a stale env version)."""


class Unavailable(LedgerError):
    """A dependency (database, runtime) cannot be reached right now."""


class DiskFull(LedgerError):
    """The disk under the ledger's database is full: writes wait until space is freed."""


class Unauthenticated(LedgerError):
    """No credentials, or credentials that name no valid key (unknown or revoked)."""


class PermissionDenied(LedgerError):
    """A valid key whose role or apps do not allow the request."""


class IntegrityCompromised(FailedPrecondition):
    """A stored event no longer matches the log's Merkle tree: writes are refused until an
    operator restores the ledger or a full scrub passes (reads keep working)."""
