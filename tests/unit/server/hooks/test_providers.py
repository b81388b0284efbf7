"""Who sent a webhook, and what a GitHub or Gitea delivery means as a Delivery."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import InvalidArgument
from ledger.workflows.triggers import CheckState, Delivery, Provider, PullAction, TriggerKind
from server.hooks.providers import parse, provider_of
from tests.support.webhook_payloads import (
    GITEA_PULL_REQUEST,
    GITEA_PUSH,
    GITEA_STATUS,
    GITHUB_CHECK_SUITE,
    GITHUB_PING,
    GITHUB_PULL_REQUEST,
    GITHUB_PUSH,
    GITHUB_STATUS,
    SHA,
    ZERO_SHA,
    changed,
    encoded,
    gitea_headers,
    github_headers,
)


def github(event: str, payload: dict[str, Any]) -> Delivery:
    return parse(Provider.GITHUB, github_headers(event), encoded(payload))


def gitea(event: str, payload: dict[str, Any]) -> Delivery:
    return parse(Provider.GITEA, gitea_headers(event), encoded(payload))


# who sent it


def test_gitea_is_recognised_although_it_also_sends_githubs_headers() -> None:
    assert provider_of(gitea_headers("push")) is Provider.GITEA


def test_forgejo_counts_as_gitea() -> None:
    assert provider_of({"X-Forgejo-Event": "push", "X-GitHub-Event": "push"}) is Provider.GITEA


def test_gitlab_and_github_are_told_by_their_event_header_in_any_case() -> None:
    assert provider_of({"x-gitlab-event": "Push Hook"}) is Provider.GITLAB
    assert provider_of({"X-GITHUB-EVENT": "push"}) is Provider.GITHUB


def test_a_request_from_no_known_host_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="not a GitHub, GitLab or Gitea webhook"):
        provider_of({"Content-Type": "application/json", "X-Event-Key": "repo:push"})


# GitHub


def test_a_github_push_to_a_branch_names_the_commit_its_author_and_the_pusher() -> None:
    delivery = github("push", GITHUB_PUSH)

    assert delivery == Delivery(
        provider=Provider.GITHUB,
        delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        event="push",
        kind=TriggerKind.PUSH,
        ref="refs/heads/main",
        sha=SHA,
        pusher="octocat",
        repository="https://github.com/acme/shop.git",
        commit_message="Fix the checkout total\n\nRound once, at the end.",
        commit_author="Mona Lisa <mona@example.com>",
    )
    assert delivery.branch == "main"


def test_a_pushed_tag_starts_nothing() -> None:
    delivery = github("push", changed(GITHUB_PUSH, ref="refs/tags/v1.2.0"))

    assert delivery.kind is TriggerKind.OTHER
    assert delivery.ref == "refs/tags/v1.2.0"


def test_a_deleted_branch_is_a_push_without_a_head_commit() -> None:
    payload = changed(GITHUB_PUSH, after=ZERO_SHA, deleted=True, head_commit=None)

    delivery = github("push", payload)

    assert (delivery.kind, delivery.deleted, delivery.sha) == (TriggerKind.PUSH, True, ZERO_SHA)
    assert delivery.commit_message == delivery.commit_author == ""


def test_long_commit_messages_and_names_are_truncated() -> None:
    payload = changed(
        GITHUB_PUSH, head_commit__message="m" * 5000, head_commit__author__name="n" * 500
    )

    delivery = github("push", payload)

    assert delivery.commit_message == "m" * 2000
    assert delivery.commit_author == "n" * 200


def test_a_github_pull_request_from_the_same_repository_is_no_fork() -> None:
    delivery = github("pull_request", GITHUB_PULL_REQUEST)

    assert delivery.kind is TriggerKind.PULL_REQUEST
    assert delivery.pull_action is PullAction.OPENED
    assert (delivery.pull_number, delivery.sha, delivery.ref) == (42, SHA, "fix-total")
    assert (delivery.base_ref, delivery.pusher, delivery.fork) == ("main", "mona", False)
    assert delivery.repository == "https://github.com/acme/shop.git"


def test_a_pull_request_whose_head_is_in_another_repository_is_a_fork() -> None:
    payload = changed(GITHUB_PULL_REQUEST, pull_request__head__repo={"full_name": "mallory/shop"})

    assert github("pull_request", payload).fork


def test_a_pull_request_whose_head_repository_was_deleted_counts_as_a_fork() -> None:
    payload = changed(GITHUB_PULL_REQUEST, pull_request__head__repo=None)

    assert github("pull_request", payload).fork


@pytest.mark.parametrize(
    ("action", "merged", "expected"),
    [
        ("synchronize", False, PullAction.SYNCHRONIZED),
        ("reopened", False, PullAction.REOPENED),
        ("closed", True, PullAction.CLOSED),
        ("closed", False, PullAction.CLOSED),
        ("labeled", False, PullAction.OTHER),
    ],
)
def test_a_pull_requests_action_says_what_happened_to_it(
    action: str, merged: bool, expected: PullAction
) -> None:
    payload = changed(GITHUB_PULL_REQUEST, action=action, pull_request__merged=merged)

    delivery = github("pull_request", payload)

    assert (delivery.pull_action, delivery.merged) == (expected, merged)


@pytest.mark.parametrize(
    ("action", "conclusion", "state"),
    [
        ("completed", "success", CheckState.SUCCESS),
        ("completed", "neutral", CheckState.SUCCESS),
        ("completed", "skipped", CheckState.SUCCESS),
        ("completed", "failure", CheckState.FAILURE),
        ("completed", "timed_out", CheckState.FAILURE),
        ("completed", "cancelled", CheckState.FAILURE),
        ("completed", "action_required", CheckState.FAILURE),
        ("completed", "startup_failure", CheckState.FAILURE),
        ("completed", "stale", CheckState.PENDING),
        ("requested", None, CheckState.PENDING),
    ],
)
def test_a_check_suite_reports_cis_verdict_once_completed(
    action: str, conclusion: str | None, state: CheckState
) -> None:
    payload = changed(GITHUB_CHECK_SUITE, action=action, check_suite__conclusion=conclusion)

    delivery = github("check_suite", payload)

    assert (delivery.kind, delivery.sha, delivery.check_state) == (TriggerKind.CHECKS, SHA, state)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("success", CheckState.SUCCESS),
        ("failure", CheckState.FAILURE),
        ("error", CheckState.FAILURE),
        ("pending", CheckState.PENDING),
    ],
)
def test_a_commit_status_reports_cis_verdict(state: str, expected: CheckState) -> None:
    delivery = github("status", changed(GITHUB_STATUS, state=state))

    assert (delivery.kind, delivery.sha, delivery.check_state) == (
        TriggerKind.CHECKS,
        SHA,
        expected,
    )


def test_a_ping_is_accepted_and_an_unknown_event_starts_nothing() -> None:
    assert github("ping", GITHUB_PING).kind is TriggerKind.PING
    assert github("star", {"action": "created"}).kind is TriggerKind.OTHER


# Gitea and Forgejo


def test_a_gitea_push_names_the_pusher_by_login() -> None:
    delivery = gitea("push", GITEA_PUSH)

    assert delivery.provider is Provider.GITEA
    assert (delivery.kind, delivery.sha, delivery.pusher) == (TriggerKind.PUSH, SHA, "admin")
    assert delivery.delivery_id == "f6266f16-1bf3-46a5-9ea4-602e06ead473"
    assert delivery.commit_author == "Gitea Admin <admin@example.com>"
    assert not delivery.deleted


def test_a_gitea_push_to_the_zero_sha_deleted_the_branch() -> None:
    delivery = gitea("push", changed(GITEA_PUSH, after=ZERO_SHA, head_commit=None))

    assert delivery.deleted


def test_gitea_spells_a_pull_request_update_synchronized() -> None:
    delivery = gitea("pull_request", GITEA_PULL_REQUEST)

    assert delivery.pull_action is PullAction.SYNCHRONIZED
    assert (delivery.pull_number, delivery.ref, delivery.pusher) == (3, "feature", "alice")


def test_a_gitea_commit_status_error_is_a_failure() -> None:
    delivery = gitea("status", GITEA_STATUS)

    assert (delivery.kind, delivery.check_state) == (TriggerKind.CHECKS, CheckState.FAILURE)
