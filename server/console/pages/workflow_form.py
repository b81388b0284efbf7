"""The "New workflow" form: its fields as typed, and the settings they describe.

Parsing only turns text into :class:`~ledger.domain.WorkflowSettings` (apps split on
commas and spaces, one ``SERVICE: COMMAND`` per line, ``KEY=VALUE`` lines for the review
env); what the settings may be is checked by the use case
(:func:`ledger.workflows.settings.check_settings`), so the console refuses exactly what
``ledgerctl workflows create`` is refused. A refused form is shown again with what was
typed, but never with the repository credentials.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain import Hook, PromoteMode, WorkflowSettings
from ledger.errors import InvalidArgument
from ledger.workflows.settings import parse_hook
from server.console.pages.common import int_field
from server.console.pages.env_text import lines_of, parse_env_text
from server.console.pages.keys import parse_apps

TEXT_FIELDS = (
    "name",
    "repository",
    "branch",
    "apps",
    "promote",
    "before_promote",
    "after_promote",
    "review_env",
    "poll_seconds",
)
CHECKBOXES = ("review_apps", "wait_for_ci", "allow_forks")
DEFAULTS = {"branch": "main", "promote": PromoteMode.AUTO.value, "poll_seconds": "0"}


@dataclass(frozen=True)
class WorkflowDraft:
    """What the form holds: its text fields as typed and its ticked checkboxes (the
    credentials are not kept: a refused form asks for them again)."""

    fields: dict[str, str]
    ticked: frozenset[str]

    @classmethod
    def empty(cls) -> WorkflowDraft:
        return cls(dict(DEFAULTS), frozenset())

    @classmethod
    def of(cls, values: dict[str, str]) -> WorkflowDraft:
        fields = {name: values.get(name, "") for name in TEXT_FIELDS}
        ticked = frozenset(name for name in CHECKBOXES if values.get(name, "") == "1")
        return cls(fields, ticked)

    def get(self, name: str) -> str:
        return self.fields.get(name, "")

    def settings(self) -> WorkflowSettings:
        """The settings the form describes (InvalidArgument naming the bad field)."""
        return WorkflowSettings(
            repository=self.get("repository").strip(),
            branch=self.get("branch").strip() or "main",
            apps=parse_apps(self.get("apps")),
            promote=promote_mode(self.get("promote")),
            before_promote=hooks(self.get("before_promote")),
            after_promote=hooks(self.get("after_promote")),
            review_apps="review_apps" in self.ticked,
            review_env=review_env(self.get("review_env")),
            wait_for_ci="wait_for_ci" in self.ticked,
            poll_seconds=int_field(self.fields, "poll_seconds", 0) or 0,
            allow_forks="allow_forks" in self.ticked,
        )


def promote_mode(raw: str) -> PromoteMode:
    try:
        return PromoteMode(raw.strip() or PromoteMode.AUTO.value)
    except ValueError:
        raise InvalidArgument("promote is auto or manual") from None


def hooks(text: str) -> tuple[Hook, ...]:
    """One ``SERVICE: COMMAND`` per non-blank line."""
    return tuple(parse_hook(line.strip()) for line in lines_of(text) if line.strip())


def review_env(text: str) -> dict[str, str]:
    """The review apps' env from ``KEY=VALUE`` lines (a refusal names the line, not its
    content: it may be a secret)."""
    try:
        return parse_env_text(text)
    except InvalidArgument as error:
        raise InvalidArgument(f"review env: {error}") from None
