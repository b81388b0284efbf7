"""Polling until a promotion or a build reaches a terminal status.

``--wait`` is how CI learns whether a deploy went live: it must end with a clear verdict,
show progress while it waits, and never hang forever if the server stops answering about a
promotion that it will never finish.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from cli import tables
from cli.context import Session
from cli.errors import CliError, PromotionDidNotSucceed, status_code
from ledger_api.v1 import ledger_pb2 as pb

PROMOTION_TERMINAL = frozenset(
    {"succeeded", "failed", "rolled_back", "rollback_failed", "cancelled"}
)
BUILD_TERMINAL = frozenset({"succeeded", "failed"})
POLL_INTERVAL = 0.1  # GetPromotion is cheap; a deploy learns its verdict within 0.1 s
BUILD_POLL_INTERVAL = 0.5
DEFAULT_DEADLINE = 600
# Past its deadline a promotion still has to roll back; give that time too before giving up.
ROLLBACK_ALLOWANCE = 600
BUILD_WAIT_LIMIT = 3600.0
LOG_RECONNECTS = 5  # a log stream cut by a restarting ledgerd resumes where it stopped


def step_line(step: pb.PromotionStep) -> str:
    """One progress line: ``2026-11-26T19:28:08Z  health_check  web: 200 OK``."""
    return tables.clean(f"{tables.when(step, 'time')}  {step.kind}  {step.message}".rstrip())


def failure_reason(promotion: pb.Promotion) -> str:
    """Why a promotion did not succeed, in one line."""
    if promotion.reason:
        return promotion.reason
    if promotion.HasField("cause"):
        return promotion.cause.message or promotion.cause.kind
    return "no reason given"


def wait_for_promotion(session: Session, promotion: pb.Promotion) -> pb.Promotion:
    """Poll ``promotion`` until it ends; in human mode each new step goes to stderr.

    Returns the final promotion; raise nothing here so that callers can print it first and
    then call ``check_promotion``.
    """
    app = promotion.app or session.require_app()
    printed: set[tuple[int, str, str]] = set()
    deadline = promotion.deadline_seconds or DEFAULT_DEADLINE
    give_up_at = session.clock() + deadline + ROLLBACK_ALLOWANCE
    current = promotion
    while True:
        if not session.json:
            for step in current.steps:
                key = (step.position, step.kind, step.message)
                if key not in printed:
                    printed.add(key)
                    session.err(step_line(step))
        if current.status in PROMOTION_TERMINAL:
            return current
        if session.clock() >= give_up_at:
            raise PromotionDidNotSucceed(
                f"promotion {current.id} is still {current.status} after waiting "
                f"{deadline + ROLLBACK_ALLOWANCE}s; stopped waiting (it goes on in ledgerd)"
            )
        session.sleep(POLL_INTERVAL)
        current = session.client.get_promotion(app, current.id)


def check_promotion(promotion: pb.Promotion) -> None:
    """Raise (exit 3) unless the promotion succeeded."""
    if promotion.status != "succeeded":
        raise PromotionDidNotSucceed(
            f"promotion {promotion.id} {promotion.status}: {failure_reason(promotion)}"
        )


def wait_for_build(session: Session, build: pb.Build) -> pb.Build:
    """Poll a build until it succeeded or failed (image builds usually already have)."""
    give_up_at = session.clock() + BUILD_WAIT_LIMIT
    current = build
    while current.status not in BUILD_TERMINAL:
        if session.clock() >= give_up_at:
            raise CliError(f"build {current.id} is still {current.status}; stopped waiting")
        session.sleep(BUILD_POLL_INTERVAL)
        current = session.client.get_build(current.app or session.require_app(), current.id)
    return current


def follow_build_log(
    session: Session,
    app: str,
    build_id: str,
    write: Callable[[bytes], None],
    *,
    follow: bool = True,
) -> None:
    """Write a build's log with ``write`` as ledgerd stores it; with ``follow``, until the
    build ends. A stream cut by an unreachable server resumes after the last chunk."""
    last_seq = 0
    for attempt in range(LOG_RECONNECTS + 1):
        try:
            for chunk in session.client.build_logs(app, build_id, from_seq=last_seq, follow=follow):
                write(chunk.data)
                last_seq = max(last_seq, chunk.seq)
            return
        except grpc.RpcError as error:
            if status_code(error) != grpc.StatusCode.UNAVAILABLE or attempt == LOG_RECONNECTS:
                raise
        session.sleep(BUILD_POLL_INTERVAL * (attempt + 1))


def write_to_stderr(session: Session) -> Callable[[bytes], None]:
    """A ``write`` for :func:`follow_build_log` that prints to stderr (stdout keeps the
    command's result)."""

    def write(data: bytes) -> None:
        session.stderr.write(data.decode("utf-8", errors="replace"))
        session.stderr.flush()

    return write


def check_build(build: pb.Build) -> str:
    """The release id of a succeeded build; raise (exit 1) for a failed one."""
    if build.status != "succeeded":
        raise CliError(f"build {build.id} {build.status}: {build.error or 'no reason given'}")
    if not build.release_id:
        raise CliError(f"build {build.id} succeeded but ledgerd returned no release id")
    return build.release_id
