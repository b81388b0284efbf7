"""GitLab's webhook payloads: pushes, merge requests and pipelines.

The event is named twice, by the ``X-Gitlab-Event`` header (``Push Hook``) and by the
body's ``object_kind`` (``push``); the body decides, since it is what we read. A merge
request ``update`` starts a build only when it carries ``oldrev``, the sign that its
source branch moved: otherwise only its title, labels or assignees changed.
"""

from __future__ import annotations

from dataclasses import replace

from ledger.workflows.triggers import CheckState, Delivery, PullAction, TriggerKind
from server.hooks.payload import MAX_NAME_CHARS, Payload, commit_text

BRANCH_PREFIX = "refs/heads/"

MERGE_REQUEST_ACTIONS = {
    "open": PullAction.OPENED,
    "reopen": PullAction.REOPENED,
    "update": PullAction.SYNCHRONIZED,  # only with oldrev, see _merge_request
    "merge": PullAction.CLOSED,
    "close": PullAction.CLOSED,
}

PIPELINE_STATES = {
    "success": CheckState.SUCCESS,
    "failed": CheckState.FAILURE,
    "canceled": CheckState.FAILURE,
}


def delivery(template: Delivery, payload: Payload) -> Delivery:
    """The delivery of a GitLab event; ``template`` holds its headers."""
    match payload.text("object_kind"):
        case "push":
            return _push(template, payload)
        case "merge_request":
            return _merge_request(template, payload)
        case "pipeline":
            return _pipeline(template, payload)
    return template


def _push(template: Delivery, payload: Payload) -> Delivery:
    """A push to a branch: ``checkout_sha`` is null when it deleted the branch."""
    ref = payload.text("ref")
    if not ref.startswith(BRANCH_PREFIX):
        return replace(template, ref=ref)
    checkout = payload.optional_sha("checkout_sha")
    message, author = commit_text(_head_commit(payload.children("commits"), checkout))
    return replace(
        template,
        kind=TriggerKind.PUSH,
        ref=ref,
        sha=checkout or payload.sha("after"),
        deleted=checkout is None,
        pusher=payload.prose("user_username", MAX_NAME_CHARS),
        repository=_clone_url(payload),
        commit_message=message,
        commit_author=author,
    )


def _head_commit(commits: list[Payload], checkout: str | None) -> Payload | None:
    """The pushed commit checked out (``checkout_sha``) if listed, else the last listed."""
    for commit in commits:
        if checkout is not None and commit.sha("id") == checkout:
            return commit
    return commits[-1] if commits else None


def _merge_request(template: Delivery, payload: Payload) -> Delivery:
    """A merge request; from another project than its target, it is a fork's."""
    attributes = payload.child("object_attributes")
    action = attributes.text("action") if attributes.has("action") else ""
    pull_action = MERGE_REQUEST_ACTIONS.get(action, PullAction.OTHER)
    if action == "update" and attributes.optional_sha("oldrev") is None:
        pull_action = PullAction.OTHER  # no code changed
    source = attributes.number("source_project_id")
    return replace(
        template,
        kind=TriggerKind.PULL_REQUEST,
        ref=attributes.text("source_branch"),
        sha=attributes.child("last_commit").sha("id"),
        pusher=payload.child("user").prose("username", MAX_NAME_CHARS),
        repository=_clone_url(payload),
        pull_number=attributes.number("iid"),
        pull_action=pull_action,
        merged=action == "merge",
        fork=source != attributes.number("target_project_id"),
        base_ref=attributes.text("target_branch"),
    )


def _pipeline(template: Delivery, payload: Payload) -> Delivery:
    """CI's verdict on a commit: final once the pipeline succeeded, failed or was
    cancelled; any other status (created, running, manual …) is pending."""
    attributes = payload.child("object_attributes")
    return replace(
        template,
        kind=TriggerKind.CHECKS,
        sha=attributes.sha("sha"),
        repository=_clone_url(payload),
        check_state=PIPELINE_STATES.get(attributes.text("status"), CheckState.PENDING),
    )


def _clone_url(payload: Payload) -> str:
    return payload.child("project").text("git_http_url")
