"""What a git host told us: one webhook delivery, parsed into the terms of a workflow.

The webhook endpoint verifies and parses a provider's payload (GitHub, GitLab,
Gitea / Forgejo) into a :class:`Delivery`; the workflow use cases decide what it starts.
Nothing here knows HTTP or any provider's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    GITEA = "gitea"
    POLL = "poll"  # the ledger's own polling of a repository
    MANUAL = "manual"  # ``workflows run`` by a person


class TriggerKind(StrEnum):
    """What a delivery is about."""

    PUSH = "push"  # commits pushed to a branch (or the branch deleted)
    PULL_REQUEST = "pull_request"  # a pull / merge request opened, updated, closed
    CHECKS = "checks"  # CI reported a result for a commit
    PING = "ping"  # the host testing the hook: accepted, starts nothing
    OTHER = "other"  # an event no workflow acts on: accepted, starts nothing


class PullAction(StrEnum):
    OPENED = "opened"
    REOPENED = "reopened"
    SYNCHRONIZED = "synchronized"  # new commits on the pull request's branch
    CLOSED = "closed"  # closed or merged (``merged`` says which)
    OTHER = "other"  # edited, labelled, an update that changed no code: nothing to do


class CheckState(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook delivery (or poll, or manual run), provider-neutral.

    ``delivery_id`` is the host's id of the delivery (GitHub ``X-GitHub-Delivery``): a
    delivery seen before is answered and does nothing. ``sha`` is the commit concerned
    (pushed head, pull request head, commit CI reported on). ``ref`` is a full ref
    (``refs/heads/main``) for pushes and the head branch for pull requests.
    """

    provider: Provider
    delivery_id: str
    event: str  # the provider's own name of the event (``push``, ``Merge Request Hook``)
    kind: TriggerKind
    ref: str = ""
    sha: str = ""
    pusher: str = ""
    repository: str = ""  # clone URL as the host sent it
    deleted: bool = False  # a push that deleted the branch
    commit_message: str = ""
    commit_author: str = ""
    pull_number: int = 0
    pull_action: PullAction = PullAction.OTHER
    merged: bool = False
    fork: bool = False  # the pull request's head is in another repository
    base_ref: str = ""  # the branch a pull request targets
    check_state: CheckState = CheckState.PENDING

    @property
    def branch(self) -> str:
        """The branch name of a push's ``ref`` (``main``), or the pull request's head."""
        return self.ref.removeprefix("refs/heads/")
