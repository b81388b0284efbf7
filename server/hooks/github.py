"""GitHub's webhook payloads, which Gitea and Forgejo also send for pushes, pull requests
and commit statuses.

The differences that matter are few: Gitea spells a pull request update ``synchronized``
(GitHub ``synchronize``), its ``pusher`` is a user (``login``, not ``name``), and its
push has no ``deleted`` flag (a deletion is a push to the all-zero sha, when it is sent
as a push at all). Only GitHub reports check suites.
"""

from __future__ import annotations

from dataclasses import replace

from ledger.workflows.triggers import CheckState, Delivery, Provider, PullAction, TriggerKind
from server.hooks.payload import MAX_NAME_CHARS, Payload, commit_text

BRANCH_PREFIX = "refs/heads/"

PULL_ACTIONS = {
    "opened": PullAction.OPENED,
    "reopened": PullAction.REOPENED,
    "synchronize": PullAction.SYNCHRONIZED,  # GitHub
    "synchronized": PullAction.SYNCHRONIZED,  # Gitea, Forgejo
    "closed": PullAction.CLOSED,
}

# a completed check suite's conclusion; anything else (a new value GitHub adds) is pending
CONCLUSIONS = {
    "success": CheckState.SUCCESS,
    "neutral": CheckState.SUCCESS,
    "skipped": CheckState.SUCCESS,
    "failure": CheckState.FAILURE,
    "timed_out": CheckState.FAILURE,
    "cancelled": CheckState.FAILURE,
    "action_required": CheckState.FAILURE,
    "startup_failure": CheckState.FAILURE,
}

STATUSES = {
    "success": CheckState.SUCCESS,
    "failure": CheckState.FAILURE,
    "error": CheckState.FAILURE,
    "pending": CheckState.PENDING,
}


def delivery(template: Delivery, payload: Payload) -> Delivery:
    """The delivery of a GitHub or Gitea event; ``template`` holds its headers."""
    match template.event:
        case "ping":
            return replace(template, kind=TriggerKind.PING)
        case "push":
            return _push(template, payload)
        case "pull_request":
            return _pull_request(template, payload)
        case "check_suite" if template.provider is Provider.GITHUB:
            return _check_suite(template, payload)
        case "status":
            return _status(template, payload)
    return template


def _push(template: Delivery, payload: Payload) -> Delivery:
    """A push to a branch; a pushed tag starts nothing (OTHER)."""
    ref = payload.text("ref")
    if not ref.startswith(BRANCH_PREFIX):
        return replace(template, ref=ref)
    sha = payload.sha("after")
    deleted = payload.flag("deleted") if payload.has("deleted") else set(sha) == {"0"}
    message, author = commit_text(payload.optional_child("head_commit"))
    return replace(
        template,
        kind=TriggerKind.PUSH,
        ref=ref,
        sha=sha,
        deleted=deleted,
        pusher=_pusher(template, payload.child("pusher")),
        repository=_clone_url(payload),
        commit_message=message,
        commit_author=author,
    )


def _pusher(template: Delivery, pusher: Payload) -> str:
    """GitHub's pusher is ``{name, email}``; Gitea's a user (``login``, ``username``)."""
    if template.provider is Provider.GITHUB:
        return pusher.prose("name", MAX_NAME_CHARS)
    field = "login" if pusher.has("login") else "username"
    return pusher.prose(field, MAX_NAME_CHARS)


def _pull_request(template: Delivery, payload: Payload) -> Delivery:
    """A pull request; its head in another repository (or a deleted one) is a fork."""
    pull = payload.child("pull_request")
    head, base = pull.child("head"), pull.child("base")
    action = PULL_ACTIONS.get(payload.text("action"), PullAction.OTHER)
    head_repo = head.optional_child("repo")
    base_name = base.child("repo").text("full_name")
    return replace(
        template,
        kind=TriggerKind.PULL_REQUEST,
        ref=head.text("ref"),
        sha=head.sha("sha"),
        pusher=payload.child("sender").prose("login", MAX_NAME_CHARS),
        repository=_clone_url(payload),
        pull_number=payload.number("number"),
        pull_action=action,
        merged=action is PullAction.CLOSED and pull.flag("merged"),
        fork=head_repo is None or head_repo.text("full_name") != base_name,
        base_ref=base.text("ref"),
    )


def _check_suite(template: Delivery, payload: Payload) -> Delivery:
    """CI's verdict on a commit: final once the suite is ``completed``, pending before."""
    suite = payload.child("check_suite")
    state = CheckState.PENDING
    if payload.text("action") == "completed" and suite.has("conclusion"):
        state = CONCLUSIONS.get(suite.text("conclusion"), CheckState.PENDING)
    return replace(
        template,
        kind=TriggerKind.CHECKS,
        sha=suite.sha("head_sha"),
        repository=_clone_url(payload),
        check_state=state,
    )


def _status(template: Delivery, payload: Payload) -> Delivery:
    """A commit status (GitHub's older CI API, and Gitea's only one)."""
    return replace(
        template,
        kind=TriggerKind.CHECKS,
        sha=payload.sha("sha"),
        repository=_clone_url(payload),
        check_state=STATUSES.get(payload.text("state"), CheckState.PENDING),
    )


def _clone_url(payload: Payload) -> str:
    return payload.child("repository").text("clone_url")
