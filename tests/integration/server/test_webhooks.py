"""Webhook deliveries over real HTTP to a real ledgerd: signed, verified, recorded once.

Every refused delivery (bad signature, unknown workflow, oversized or malformed body)
records nothing: the log's head does not move, and the refusal is logged.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.hooks.providers import MAX_BODY_BYTES
from server.infra.settings import Settings
from tests.support import webhooks
from tests.support.auth import channel_to, create_key
from tests.support.git import Repository
from tests.support.ledgerd import InProcessLedgerd
from tests.support.webhook_payloads import (
    GITEA_PUSH,
    GITHUB_PING,
    GITHUB_PUSH,
    GITLAB_PUSH,
    changed,
    github_headers,
)


class Site:
    """A ledgerd with app ``shop`` and workflow ``site`` (manual promotion)."""

    def __init__(self, server: InProcessLedgerd, api: LedgerStub, repo: Repository) -> None:
        settings = pb.WorkflowSettings(repository=repo.url, apps=["shop"], promote="manual")
        created = api.CreateWorkflow(pb.CreateWorkflowRequest(name="site", settings=settings))
        self.server, self.api, self.repo = server, api, repo
        self.secret = created.secret
        self.url = created.workflow.webhook_url

    def head(self) -> int:
        """The log's head once the jobs started so far have ended (they record steps)."""
        views = self.server.container.views
        deadline = time.monotonic() + 30
        while views.jobs_in_flight() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.server.container.ledger.head()

    def push(self, message: str = "Fix the total") -> dict[str, object]:
        """A GitHub push payload for a new commit of the repository."""
        sha = self.repo.commit({"VERSION": message}, message)
        head_commit = {**GITHUB_PUSH["head_commit"], "id": sha, "message": message}
        return changed(GITHUB_PUSH, after=sha, head_commit=head_commit)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("webhooks")
    settings = Settings(
        data_dir=root / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    with InProcessLedgerd(settings) as server, server.channel() as channel:
        api = LedgerStub(channel)
        api.CreateApp(pb.CreateAppRequest(name="shop"))
        yield Site(server, api, Repository(Path(root) / "git"))


def test_the_webhook_url_is_served_by_the_console(site: Site) -> None:
    assert site.url.startswith(site.server.console_url)
    assert site.url.endswith("/hooks/site")


def test_a_signed_github_push_is_accepted_and_starts_a_job(site: Site) -> None:
    answer = webhooks.github(site.url, site.secret, "push", site.push())
    assert answer.status == 202
    job = site.api.GetJob(pb.GetJobRequest(id=answer.body["job_id"]))
    assert job.provider == "github" and job.pusher == "octocat"
    assert job.message == "Fix the total"


def test_a_delivery_seen_before_is_answered_and_records_nothing(site: Site) -> None:
    payload = site.push("Once")
    first = webhooks.github(site.url, site.secret, "push", payload, delivery="same-delivery")
    head = site.head()
    again = webhooks.github(site.url, site.secret, "push", payload, delivery="same-delivery")
    assert again.status == 200 and again.body["duplicate"] is True
    assert again.body["job_id"] == first.body["job_id"]
    assert site.head() == head


def test_a_forged_signature_is_refused_and_records_nothing(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    head = site.head()
    with caplog.at_level(logging.WARNING, logger="ledgerd.hooks"):
        answer = webhooks.github(site.url, "not-the-secret", "push", site.push())
    assert answer.status == 401
    assert site.head() == head
    assert "refused (401 bad signature)" in caplog.text
    assert site.secret not in caplog.text


def test_a_delivery_for_an_unknown_workflow_is_refused(site: Site) -> None:
    url = site.url.replace("/hooks/site", "/hooks/nope")
    assert webhooks.github(url, site.secret, "push", GITHUB_PUSH).status == 404


def test_an_oversized_body_is_refused_before_it_is_read_whole(site: Site) -> None:
    head = site.head()
    body = b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}"
    headers = github_headers("push")
    headers["X-Hub-Signature-256"] = "sha256=" + webhooks.hex_hmac(site.secret, body)
    assert webhooks.post_unread(site.url, body, headers) == 413
    assert site.head() == head


def test_a_signed_but_malformed_payload_is_refused_and_records_nothing(site: Site) -> None:
    head = site.head()
    body = json.dumps({"ref": 42}).encode()
    headers = github_headers("push")
    headers["X-Hub-Signature-256"] = "sha256=" + webhooks.hex_hmac(site.secret, body)
    answer = webhooks.post(site.url, body, headers)
    assert answer.status == 400 and "malformed" in answer.body["error"]
    assert site.head() == head


def test_a_ping_is_accepted_and_starts_nothing(site: Site) -> None:
    answer = webhooks.github(site.url, site.secret, "ping", GITHUB_PING)
    assert answer.status == 200 and answer.body["job_id"] == ""


def test_a_gitlab_push_with_the_token_is_accepted(site: Site) -> None:
    sha = site.repo.commit({"VERSION": "gl"}, "From GitLab")
    payload = changed(GITLAB_PUSH, after=sha, checkout_sha=sha)
    payload["commits"][0]["id"] = sha
    answer = webhooks.gitlab(site.url, site.secret, "Push Hook", payload)
    assert answer.status == 202


def test_a_gitlab_push_with_a_wrong_token_is_refused(site: Site) -> None:
    assert webhooks.gitlab(site.url, "wrong", "Push Hook", GITLAB_PUSH).status == 401


def test_a_gitea_push_signed_with_its_own_header_is_accepted(site: Site) -> None:
    sha = site.repo.commit({"VERSION": "gt"}, "From Gitea")
    payload = changed(GITEA_PUSH, after=sha, head_commit={**GITEA_PUSH["head_commit"], "id": sha})
    assert webhooks.gitea(site.url, site.secret, "push", payload).status == 202


def test_an_accepted_delivery_is_an_event_of_the_log(site: Site) -> None:
    answer = webhooks.github(site.url, site.secret, "push", site.push("Logged"))
    events = site.api.ListEvents(pb.ListEventsRequest(types=["DeliveryAccepted"], page_size=500))
    data = [json.loads(event.data) for event in events.events]
    assert any(d.get("job_id") == answer.body["job_id"] for d in data)


def test_a_deployer_of_another_app_cannot_create_a_workflow_for_this_one(site: Site) -> None:
    with site.server.channel() as admin:
        LedgerStub(admin).CreateApp(pb.CreateAppRequest(name="blog"))
        _, token = create_key(admin, "blog-ci", "deployer", "blog")
    settings = pb.WorkflowSettings(repository=site.repo.url, apps=["blog", "shop"])
    request = pb.CreateWorkflowRequest(name="both", settings=settings)
    with channel_to(site.server.address, token) as channel, pytest.raises(grpc.RpcError) as refused:
        LedgerStub(channel).CreateWorkflow(request)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "may not manage the workflows of app shop" in str(refused.value.details())


def test_a_deployer_of_every_app_of_a_workflow_may_create_it(site: Site) -> None:
    with site.server.channel() as admin:
        LedgerStub(admin).CreateApp(pb.CreateAppRequest(name="docs"))
        _, token = create_key(admin, "docs-ci", "deployer", "docs")
    settings = pb.WorkflowSettings(repository=site.repo.url, apps=["docs"])
    with channel_to(site.server.address, token) as channel:
        created = LedgerStub(channel).CreateWorkflow(
            pb.CreateWorkflowRequest(name="docs-site", settings=settings)
        )
    assert created.secret and created.workflow.settings.apps == ["docs"]


def test_a_polled_workflow_starts_a_job_of_the_branch_head_without_any_webhook(
    site: Site,
) -> None:
    settings = pb.WorkflowSettings(repository=site.repo.url, apps=["shop"], poll_seconds=10)
    site.api.CreateWorkflow(pb.CreateWorkflowRequest(name="polled", settings=settings))
    deadline = time.monotonic() + 30
    jobs: list[pb.Job] = []
    while not jobs and time.monotonic() < deadline:
        jobs = list(site.api.ListJobs(pb.ListJobsRequest(workflow="polled")).jobs)
        time.sleep(0.1)
    assert [job.provider for job in jobs] == ["poll"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=site.repo.work, capture_output=True, text=True
    ).stdout.strip()
    assert jobs[0].sha == head
