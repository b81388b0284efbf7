"""The one translation of ledger errors into gRPC status codes.

Every servicer method is wrapped by :func:`rpc`: a :class:`~ledger.errors.LedgerError`
becomes its canonical status code with the domain's own one-line message (written for
the caller, free of environment values); a database that cannot be reached becomes
UNAVAILABLE, one whose disk is full RESOURCE_EXHAUSTED (said as such); anything else is
a bug, logged with its traceback server-side and answered with a generic INTERNAL so
that no internal detail reaches the client.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

import grpc
from eventsourcing.persistence import InterfaceError, OperationalError

from ledger import errors
from server.infra.persistence import disk_full

log = logging.getLogger("ledgerd.rpc")

P = ParamSpec("P")
R = TypeVar("R")

STATUS_OF: dict[type[errors.LedgerError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.IntegrityCompromised: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Conflict: grpc.StatusCode.ABORTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DiskFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
}

# Raised by the persistence layer when the database is down or unreachable: the
# request may be retried, so it is UNAVAILABLE rather than a bug.
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, TimeoutError)

INTERNAL_MESSAGE = "internal error: the server logged the details"
UNAVAILABLE_MESSAGE = "the ledger's database is unreachable: try again"
DISK_FULL_MESSAGE = (
    "the ledger's disk is full: nothing was written; reads still work, writes resume once"
    " space is freed"
)


def status_of(error: errors.LedgerError) -> grpc.StatusCode:
    """The status code of a ledger error: its nearest class in :data:`STATUS_OF`."""
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return grpc.StatusCode.FAILED_PRECONDITION


async def abort_for(error: BaseException, method: str, context: Any) -> None:
    """End the call with the status that ``error`` deserves (``context.abort`` raises)."""
    if isinstance(error, errors.LedgerError):
        await abort(context, status_of(error), str(error))
    elif isinstance(error, TRANSIENT) and disk_full(error):
        log.error("%s: refused, the disk of the ledger's database is full", method)
        await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, DISK_FULL_MESSAGE)
    elif isinstance(error, TRANSIENT):
        log.warning("%s: refused, the ledger's database is unreachable (%s)", method,
                    type(error).__name__)  # fmt: skip
        await abort(context, grpc.StatusCode.UNAVAILABLE, UNAVAILABLE_MESSAGE)
    else:
        log.error("%s failed unexpectedly", method, exc_info=error)
        await abort(context, grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


ANSWERED = ("ledger-answered", "1")  # trailing metadata: ledgerd itself chose this status


async def abort(context: Any, code: grpc.StatusCode, message: str) -> None:
    """``context.abort``, except on a call already over (the client left): nobody to tell.

    The status carries :data:`ANSWERED`, so a client can tell ledgerd's own UNAVAILABLE
    (its database, its Docker engine), whose message says what is down, from a
    connection that failed."""
    try:
        context.set_trailing_metadata((ANSWERED,))
        await context.abort(code, message)
    except grpc.aio.AbortError:
        raise
    except Exception:
        log.debug("could not send %s: the call is over", code.name)


def rpc(method: Callable[P, R]) -> Callable[P, R]:
    """Wrap a servicer method (coroutine or async generator) with error translation.

    Also logs one DEBUG line per call (method, outcome, duration), never the request.
    """
    if inspect.isasyncgenfunction(method):
        return cast(Callable[P, R], _stream(method))
    return cast(Callable[P, R], _unary(cast(Callable[..., Awaitable[Any]], method)))


def _unary(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    name = method.__name__

    @functools.wraps(method)
    async def call(self: Any, request: Any, context: Any) -> Any:
        started = time.perf_counter()
        outcome = "OK"
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            outcome = "aborted"
            raise
        except Exception as error:
            outcome = type(error).__name__
            await abort_for(error, name, context)
        finally:
            _log_call(name, outcome, started)

    return call


def _stream(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    name = method.__name__

    @functools.wraps(method)
    async def call(self: Any, request: Any, context: Any) -> AsyncIterator[Any]:
        started = time.perf_counter()
        outcome = "OK"
        try:
            async for response in method(self, request, context):
                yield response
        except grpc.aio.AbortError:
            outcome = "aborted"
            raise
        except Exception as error:
            outcome = type(error).__name__
            await abort_for(error, name, context)
        finally:
            _log_call(name, outcome, started)

    return call


def _log_call(name: str, outcome: str, started: float) -> None:
    if log.isEnabledFor(logging.DEBUG):
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("%s %s %.1f ms", name, outcome, elapsed)
