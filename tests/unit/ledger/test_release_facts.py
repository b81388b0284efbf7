"""What a release is, in the words a person reads first, and which action its row offers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ledger.domain.release import ReleaseDiff
from ledger.queries.release_facts import (
    EnvChange,
    action_on,
    commit_url,
    env_changes,
    public_repository,
    short_image,
    what_it_is,
)
from ledger.views import ReleaseView

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
RELEASE = ReleaseView(
    id="RAAAAAAAAAA",
    app="shop",
    version=12,
    build_id="BAAAAAAAAAA",
    image="registry.example.com/team/shop:1.2",
    env_version=3,
    env_keys=(),
    reason="build",
    parent_id="",
    description="checkout v2",
    actor="alice",
    created_at=datetime(2026, 12, 2, tzinfo=UTC),
    position=40,
)


def version(number: int, reason: str = "build", release_id: str = "") -> ReleaseView:
    return replace(RELEASE, id=release_id or f"R{number:010d}", version=number, reason=reason)


def test_a_build_from_git_is_its_short_sha_and_the_first_line_of_its_commit_message() -> None:
    commit = {
        "repository": "https://github.com/acme/shop.git",
        "sha": SHA,
        "message": "\nFix the checkout total\n\nIt was off by one.",
        "author": "alice",
    }
    identity = what_it_is(replace(RELEASE, commit=commit))
    assert (identity.reason, identity.sha, identity.title) == (
        "Deploy", "1a2b3c4", "Fix the checkout total"
    )  # fmt: skip
    assert identity.commit_url == f"https://github.com/acme/shop/commit/{SHA}"


def test_a_build_of_an_image_is_its_description_and_its_short_image() -> None:
    identity = what_it_is(RELEASE)
    assert (identity.sha, identity.title, identity.image) == ("", "checkout v2", "shop:1.2")


def test_a_build_without_a_description_is_its_image() -> None:
    assert what_it_is(replace(RELEASE, description="")).title == "shop:1.2"


def test_a_rollback_names_the_version_it_returns_to() -> None:
    identity = what_it_is(replace(RELEASE, reason="rollback", parent_id="RB"), parent_version=3)
    assert (identity.reason, identity.returns_to) == ("Rollback to v3", 3)


def test_an_env_change_says_so() -> None:
    assert what_it_is(replace(RELEASE, reason="env")).reason == "Env change"


@pytest.mark.parametrize(
    ("repository", "url"),
    [
        ("https://github.com/acme/shop", f"https://github.com/acme/shop/commit/{SHA}"),
        ("https://gitlab.example.com/team/sub/shop.git",
         f"https://gitlab.example.com/team/sub/shop/-/commit/{SHA}"),
        ("https://git.example.com/acme/shop.git", f"https://git.example.com/acme/shop/commit/{SHA}"),
        ("file:///srv/git/shop.git", ""),
        ("git@github.com:acme/shop.git", ""),
        ("http://github.com/acme/shop", ""),
        ("https://github.com/shop", ""),
    ],
)  # fmt: skip
def test_a_commit_links_to_its_page_only_on_an_https_project_url(repository: str, url: str) -> None:
    assert commit_url(repository, SHA) == url


def test_a_token_in_a_repository_url_is_never_shown_nor_linked() -> None:
    repository = "https://oauth2:glpat-secret@gitlab.com/acme/shop.git"
    assert public_repository(repository) == "https://gitlab.com/acme/shop.git"
    assert "secret" not in commit_url(repository, SHA)


@pytest.mark.parametrize(
    ("reference", "short"),
    [
        ("shop:1", "shop:1"),
        ("registry.example.com:5000/team/shop:1.2", "shop:1.2"),
        ("shop@sha256:0123456789abcdef0123", "shop@0123456789ab"),
        ("", ""),
    ],
)
def test_an_image_is_quoted_by_its_name_and_tag(reference: str, short: str) -> None:
    assert short_image(reference) == short


def test_releases_older_than_the_live_one_are_rolled_back_to_and_newer_ones_promoted() -> None:
    live = version(2)
    assert action_on(version(1), live) == "rollback"
    assert action_on(version(3), live) == "promote"
    assert action_on(live, live) == ""


def test_after_a_rollback_the_releases_it_left_are_rolled_forward_to() -> None:
    live = version(4, "rollback")  # returns to v2: v3 is newer than what runs
    assert action_on(version(3), live, running=2) == "promote"
    assert action_on(version(1), live, running=2) == "rollback"


def test_with_nothing_live_any_release_is_promoted() -> None:
    assert action_on(version(1), None) == "promote"


def test_an_env_change_lists_keys_added_changed_and_removed_with_their_values() -> None:
    diff = ReleaseDiff(build_changed=False, added=("C",), changed=("A",), removed=("B",))
    rows = env_changes(diff, {"A": "1", "B": "2"}, {"A": "9", "C": "3"})
    assert rows == [
        EnvChange("C", "added", "", "3"),
        EnvChange("A", "changed", "1", "9"),
        EnvChange("B", "removed", "2", ""),
    ]
