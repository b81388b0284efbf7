"""Keeping a release's env values out of what a promotion reports.

Env values are secrets: every view of the ledger masks them. But a promotion's steps
and its cause are recorded in the append-only log, where every reader of the app sees
them, and part of what they say comes from the app itself: its last lines of output,
its health check's answer. An app that prints its config as it fails would put its
secrets in the log for good. So each env value of the releases a rollout or restore
deals with is replaced by ``***`` in every step message and cause field before it
leaves the runtime.

The masking is the ledger's own (:meth:`ledger.domain.secrecy.Mask.text`); the promoter
masks what every runtime reports the same way, so this is the Docker runtime keeping its
own promise rather than a second rule.
"""

from __future__ import annotations

from ledger.domain import Cause, StepKind
from ledger.domain.secrecy import HIDDEN
from ledger.runtime import Progress, ReleaseSpec


class Redactor:
    """Masks the env values of some releases in text, causes and steps."""

    def __init__(self, *releases: ReleaseSpec | None) -> None:
        self._values = [
            value for release in releases if release is not None for value in release.env.values()
        ]

    def text(self, text: str) -> str:
        return HIDDEN.text(text, self._values)

    def cause(self, cause: Cause | None) -> Cause | None:
        """``cause`` with every env value masked in its text fields (None stays None)."""
        return cause.hiding(self._values) if cause is not None else None

    def progress(self, progress: Progress) -> Progress:
        """``progress``, with every env value masked in the step messages it is given."""
        return _MaskedProgress(progress, self) if self._values else progress


class _MaskedProgress:
    def __init__(self, progress: Progress, redactor: Redactor) -> None:
        self._progress = progress
        self._redactor = redactor

    def step(self, kind: StepKind, message: str) -> None:
        self._progress.step(kind, self._redactor.text(message))

    def cancelled(self) -> bool:
        return self._progress.cancelled()
