"""Exit codes and the mapping from gRPC status codes to them.

The CLI has one error boundary (``cli.main.main``); everything below it raises, and the
boundary turns the exception into one stderr line and one of these exit codes.
"""

from __future__ import annotations

from typing import Final

import grpc

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1  # the server refused the request (or the answer is "no")
EXIT_USAGE: Final = 2  # bad command line (click's own code)
EXIT_PROMOTION_FAILED: Final = 3  # a waited-for promotion did not succeed
ANSWERED: Final = ("ledger-answered", "1")  # ledgerd's mark on a status it chose itself
EXIT_UNREACHABLE: Final = 4  # cannot reach the server: UNAVAILABLE after retries, deadline

# Codes meaning "the request did not get an answer", as opposed to "the answer is no"
# (CANCELLED: cut by a server stopping; ledgerd never answers it).
_UNREACHABLE_CODES: Final = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


class CliError(Exception):
    """An error the CLI reports as one line and an exit code.

    Raised by commands for outcomes that are not gRPC errors (a failed build, a key that is
    not set, a promotion that rolled back) so that the boundary stays the only place that
    writes errors and picks exit codes.
    """

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class PromotionDidNotSucceed(CliError):
    """A promotion the user waited for ended in a status other than ``succeeded``."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_PROMOTION_FAILED)


def exit_code_for(code: grpc.StatusCode | None) -> int:
    """The exit code for a gRPC status code: 4 when the server was not reached, else 1."""
    return EXIT_UNREACHABLE if code in _UNREACHABLE_CODES else EXIT_REFUSED


NOT_SIGNED_IN = "not signed in: set LEDGER_TOKEN or pass --token TOKEN"
TOKEN_REFUSED = (
    "the token was refused: it names no valid key (unknown or revoked); check LEDGER_TOKEN "
    "or --token"
)


def rpc_error_message(
    error: grpc.RpcError,
    host: str,
    timeout: float | None,
    *,
    signed_in: bool = True,
    secure: bool = False,
) -> str:
    """The one-line message for a failed call: the server's details, or why it was not
    reached (``signed_in``: a token was sent; ``secure``: over TLS)."""
    code = _code_of(error)
    if code == grpc.StatusCode.UNAVAILABLE and answered(error):
        return f"ledgerd at {host}: {_details_of(error) or 'unavailable'}"
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach ledgerd at {host}" + _tls_hint(_details_of(error), secure)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return TOKEN_REFUSED if signed_in else NOT_SIGNED_IN
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        within = f" within {timeout:g}s" if timeout else ""
        return f"ledgerd at {host} did not answer{within}"
    if code == grpc.StatusCode.CANCELLED:
        return f"ledgerd at {host} kept cutting the call short (stopping?); try again"
    details = _details_of(error)
    name = code.name.lower() if code is not None else "unknown error"
    return details if details else name


def answered(error: grpc.RpcError) -> bool:
    """Whether ledgerd itself chose the error's status (its trailing metadata says so),
    as opposed to a connection that failed on the way."""
    trailing = getattr(error, "trailing_metadata", None)
    metadata = trailing() if callable(trailing) else None
    return any(tuple(item) == ANSWERED for item in (metadata or ()))


def handshake_failed(error: grpc.RpcError) -> bool:
    """Whether the call failed in the TLS handshake (which a retry would not fix)."""
    details = _details_of(error)
    return "CERTIFICATE_VERIFY_FAILED" in details or "handshake failed" in details.lower()


def _tls_hint(details: str, secure: bool) -> str:
    """Why a connection failed, when the TLS handshake says so ('' otherwise)."""
    if "CERTIFICATE_VERIFY_FAILED" in details:
        return ": its TLS certificate is not signed by the CA given (--ca or LEDGER_CA)"
    if secure and ("WRONG_VERSION_NUMBER" in details or "handshake failed" in details.lower()):
        return ": the TLS handshake failed (does ledgerd serve TLS on this address?)"
    if not secure and "Socket closed" in details:
        return " (if it serves TLS, give its CA with --ca FILE or LEDGER_CA, or use --tls)"
    return ""


def rpc_exit_code(error: grpc.RpcError) -> int:
    """The exit code for a failed call."""
    return exit_code_for(_code_of(error))


def status_code(error: grpc.RpcError) -> grpc.StatusCode | None:
    """The status code of a failed call, or None when the error carries none."""
    return _code_of(error)


def _code_of(error: grpc.RpcError) -> grpc.StatusCode | None:
    code = getattr(error, "code", None)
    if not callable(code):
        return None
    value = code()
    return value if isinstance(value, grpc.StatusCode) else None


def _details_of(error: grpc.RpcError) -> str:
    details = getattr(error, "details", None)
    if not callable(details):
        return ""
    value = details()
    return " ".join(str(value).split()) if value else ""
