"""Webhook deliveries as the git hosts send them, trimmed to the fields that matter.

Shapes follow each host's documented payloads (GitHub ``push``, ``pull_request``,
``check_suite``, ``status``; GitLab ``Push Hook``, ``Merge Request Hook``, ``Pipeline
Hook``; Gitea ``push``, ``pull_request``, ``status``). Tests take a copy with
:func:`changed` and send it with :func:`encoded`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

SHA = "9f2c6a1e4b7d3c5a8e0f1b2c3d4e5f60718293a4"
OLD_SHA = "1b2c3d4e5f60718293a49f2c6a1e4b7d3c5a8e0f"
ZERO_SHA = "0" * 40
SECRET = "hook-secret-0b1c"

GITHUB_REPOSITORY = {
    "id": 1296269,
    "full_name": "acme/shop",
    "clone_url": "https://github.com/acme/shop.git",
}

GITHUB_PUSH: dict[str, Any] = {
    "ref": "refs/heads/main",
    "before": OLD_SHA,
    "after": SHA,
    "created": False,
    "deleted": False,
    "forced": False,
    "base_ref": None,
    "repository": GITHUB_REPOSITORY,
    "pusher": {"name": "octocat", "email": "octocat@github.com"},
    "sender": {"login": "octocat", "id": 583231},
    "head_commit": {
        "id": SHA,
        "tree_id": OLD_SHA,
        "distinct": True,
        "message": "Fix the checkout total\n\nRound once, at the end.",
        "timestamp": "2026-11-26T10:00:00+01:00",
        "author": {"name": "Mona Lisa", "email": "mona@example.com", "username": "mona"},
        "committer": {"name": "GitHub", "email": "noreply@github.com"},
    },
}

GITHUB_PULL_REQUEST: dict[str, Any] = {
    "action": "opened",
    "number": 42,
    "pull_request": {
        "number": 42,
        "state": "open",
        "merged": False,
        "head": {"ref": "fix-total", "sha": SHA, "repo": GITHUB_REPOSITORY},
        "base": {"ref": "main", "sha": OLD_SHA, "repo": GITHUB_REPOSITORY},
    },
    "repository": GITHUB_REPOSITORY,
    "sender": {"login": "mona", "id": 1},
}

GITHUB_CHECK_SUITE: dict[str, Any] = {
    "action": "completed",
    "check_suite": {
        "id": 118578147,
        "head_branch": "main",
        "head_sha": SHA,
        "status": "completed",
        "conclusion": "success",
    },
    "repository": GITHUB_REPOSITORY,
    "sender": {"login": "octocat", "id": 583231},
}

GITHUB_STATUS: dict[str, Any] = {
    "id": 6805126730,
    "sha": SHA,
    "name": "acme/shop",
    "context": "ci/build",
    "state": "success",
    "repository": GITHUB_REPOSITORY,
    "sender": {"login": "octocat", "id": 583231},
}

GITHUB_PING: dict[str, Any] = {
    "zen": "Design for failure.",
    "hook_id": 30,
    "hook": {"type": "Repository", "events": ["push", "pull_request"], "active": True},
    "repository": GITHUB_REPOSITORY,
}

GITLAB_PROJECT = {
    "id": 15,
    "path_with_namespace": "acme/shop",
    "git_http_url": "https://gitlab.example.com/acme/shop.git",
}

GITLAB_PUSH: dict[str, Any] = {
    "object_kind": "push",
    "event_name": "push",
    "before": OLD_SHA,
    "after": SHA,
    "ref": "refs/heads/main",
    "checkout_sha": SHA,
    "user_username": "jsmith",
    "project_id": 15,
    "project": GITLAB_PROJECT,
    "commits": [
        {
            "id": SHA,
            "message": "Update the catalogue\n",
            "title": "Update the catalogue",
            "author": {"name": "Jordi Mallach", "email": "jordi@example.com"},
        },
        {
            "id": OLD_SHA,
            "message": "An older commit listed after the checked-out one",
            "author": {"name": "GitLab dev user", "email": "gitlabdev@example.com"},
        },
    ],
    "total_commits_count": 2,
}

GITLAB_MERGE_REQUEST: dict[str, Any] = {
    "object_kind": "merge_request",
    "event_type": "merge_request",
    "user": {"id": 1, "name": "Administrator", "username": "root"},
    "project": GITLAB_PROJECT,
    "object_attributes": {
        "id": 99,
        "iid": 7,
        "action": "update",
        "oldrev": OLD_SHA,
        "source_branch": "ms-viewport",
        "target_branch": "main",
        "source_project_id": 15,
        "target_project_id": 15,
        "state": "opened",
        "last_commit": {"id": SHA, "message": "fixed readme"},
    },
}

GITLAB_PIPELINE: dict[str, Any] = {
    "object_kind": "pipeline",
    "object_attributes": {"id": 31, "ref": "main", "sha": SHA, "status": "failed"},
    "user": {"id": 1, "username": "root"},
    "project": GITLAB_PROJECT,
}

GITEA_REPOSITORY = {
    "id": 1,
    "full_name": "acme/shop",
    "clone_url": "https://gitea.example.com/acme/shop.git",
}

GITEA_PUSH: dict[str, Any] = {
    "ref": "refs/heads/main",
    "before": OLD_SHA,
    "after": SHA,
    "compare_url": "https://gitea.example.com/acme/shop/compare/1b2c3d4...9f2c6a1",
    "commits": [],
    "total_commits": 1,
    "head_commit": {
        "id": SHA,
        "message": "Bump the image\n",
        "author": {"name": "Gitea Admin", "email": "admin@example.com", "username": "admin"},
    },
    "repository": GITEA_REPOSITORY,
    "pusher": {"id": 1, "login": "admin", "full_name": "", "username": "admin"},
    "sender": {"id": 1, "login": "admin", "username": "admin"},
}

GITEA_PULL_REQUEST: dict[str, Any] = {
    "action": "synchronized",
    "number": 3,
    "pull_request": {
        "id": 12,
        "number": 3,
        "merged": False,
        "head": {"label": "feature", "ref": "feature", "sha": SHA, "repo": GITEA_REPOSITORY},
        "base": {"label": "main", "ref": "main", "sha": OLD_SHA, "repo": GITEA_REPOSITORY},
    },
    "repository": GITEA_REPOSITORY,
    "sender": {"id": 2, "login": "alice", "username": "alice"},
}

GITEA_STATUS: dict[str, Any] = {
    "sha": SHA,
    "context": "ci/woodpecker",
    "state": "error",
    "repository": GITEA_REPOSITORY,
    "sender": {"id": 1, "login": "admin"},
}


DELETE = object()  # a value for changed(): remove the field


def changed(payload: dict[str, Any], **paths: Any) -> dict[str, Any]:
    """A deep copy of ``payload`` with each field named by a ``__``-separated path
    (``pull_request__head__repo``) set to the value given; ``DELETE`` removes it."""
    result = copy.deepcopy(payload)
    for path, value in paths.items():
        *parents, last = path.split("__")
        target = result
        for name in parents:
            target = target[name]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return result


def encoded(payload: object) -> bytes:
    return json.dumps(payload).encode()


def github_headers(
    event: str, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "292430182",
    }


def gitlab_headers(
    event: str, uuid: str = "9cdb5ca6-1f7a-4c9d-8a5b-c4b2f5a0b0e1"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Gitlab-Event": event,
        "X-Gitlab-Event-UUID": uuid,
        "X-Gitlab-Instance": "https://gitlab.example.com",
    }


def gitea_headers(
    event: str, delivery: str = "f6266f16-1bf3-46a5-9ea4-602e06ead473"
) -> dict[str, str]:
    """Gitea sends its own headers and GitHub's, with the same values."""
    return {
        "Content-Type": "application/json",
        "X-Gitea-Event": event,
        "X-Gitea-Delivery": delivery,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Gogs-Event": event,
    }
