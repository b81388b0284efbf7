"""What a GitLab delivery means: pushes, merge requests and pipelines as a Delivery."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.workflows.triggers import CheckState, Delivery, Provider, PullAction, TriggerKind
from server.hooks.providers import parse
from tests.support.webhook_payloads import (
    DELETE,
    GITLAB_MERGE_REQUEST,
    GITLAB_PIPELINE,
    GITLAB_PUSH,
    SHA,
    ZERO_SHA,
    changed,
    encoded,
    gitlab_headers,
)


def gitlab(event: str, payload: dict[str, Any]) -> Delivery:
    return parse(Provider.GITLAB, gitlab_headers(event), encoded(payload))


def test_a_gitlab_push_takes_message_and_author_from_the_checked_out_commit() -> None:
    delivery = gitlab("Push Hook", GITLAB_PUSH)

    assert delivery.kind is TriggerKind.PUSH
    assert (delivery.event, delivery.sha, delivery.pusher) == ("Push Hook", SHA, "jsmith")
    assert delivery.repository == "https://gitlab.example.com/acme/shop.git"
    assert delivery.commit_message == "Update the catalogue\n"
    assert delivery.commit_author == "Jordi Mallach <jordi@example.com>"


def test_without_a_listed_checkout_commit_the_last_listed_commit_is_taken() -> None:
    delivery = gitlab("Push Hook", changed(GITLAB_PUSH, checkout_sha="a" * 40))

    assert delivery.commit_author == "GitLab dev user <gitlabdev@example.com>"


def test_a_gitlab_push_that_deleted_the_branch_has_no_checkout_sha() -> None:
    payload = changed(GITLAB_PUSH, checkout_sha=None, after=ZERO_SHA, commits=[])

    delivery = gitlab("Push Hook", payload)

    assert (delivery.kind, delivery.deleted, delivery.sha) == (TriggerKind.PUSH, True, ZERO_SHA)


def test_a_gitlab_tag_push_starts_nothing() -> None:
    payload = changed(GITLAB_PUSH, object_kind="tag_push", ref="refs/tags/v1.0.0")

    assert gitlab("Tag Push Hook", payload).kind is TriggerKind.OTHER


def test_a_merge_request_update_with_new_commits_is_synchronized() -> None:
    delivery = gitlab("Merge Request Hook", GITLAB_MERGE_REQUEST)

    assert delivery.kind is TriggerKind.PULL_REQUEST
    assert delivery.pull_action is PullAction.SYNCHRONIZED
    assert (delivery.pull_number, delivery.sha, delivery.ref) == (7, SHA, "ms-viewport")
    assert (delivery.base_ref, delivery.pusher, delivery.fork) == ("main", "root", False)


def test_a_merge_request_update_without_oldrev_changed_no_code() -> None:
    payload = changed(GITLAB_MERGE_REQUEST, object_attributes__oldrev=DELETE)

    assert gitlab("Merge Request Hook", payload).pull_action is PullAction.OTHER


@pytest.mark.parametrize(
    ("action", "expected", "merged"),
    [
        ("open", PullAction.OPENED, False),
        ("reopen", PullAction.REOPENED, False),
        ("merge", PullAction.CLOSED, True),
        ("close", PullAction.CLOSED, False),
        ("approved", PullAction.OTHER, False),
    ],
)
def test_a_merge_requests_action_says_what_happened_to_it(
    action: str, expected: PullAction, merged: bool
) -> None:
    payload = changed(GITLAB_MERGE_REQUEST, object_attributes__action=action)

    delivery = gitlab("Merge Request Hook", payload)

    assert (delivery.pull_action, delivery.merged) == (expected, merged)


def test_a_merge_request_from_another_project_is_a_fork() -> None:
    payload = changed(GITLAB_MERGE_REQUEST, object_attributes__source_project_id=16)

    assert gitlab("Merge Request Hook", payload).fork


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", CheckState.SUCCESS),
        ("failed", CheckState.FAILURE),
        ("canceled", CheckState.FAILURE),
        ("running", CheckState.PENDING),
    ],
)
def test_a_pipeline_reports_cis_verdict(status: str, expected: CheckState) -> None:
    delivery = gitlab("Pipeline Hook", changed(GITLAB_PIPELINE, object_attributes__status=status))

    assert (delivery.kind, delivery.sha, delivery.check_state) == (
        TriggerKind.CHECKS,
        SHA,
        expected,
    )


def test_gitlabs_idempotency_key_serves_as_the_delivery_id_when_no_uuid_is_sent() -> None:
    headers = {"X-Gitlab-Event": "Push Hook", "Idempotency-Key": "4f2b3c1d-0000-4e5f-9abc"}

    assert parse(Provider.GITLAB, headers, encoded(GITLAB_PUSH)).delivery_id == (
        "4f2b3c1d-0000-4e5f-9abc"
    )
