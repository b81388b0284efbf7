"""The client's calls of workflows, their jobs, and one-off commands.

Apart from :class:`~cli.client.LedgerClient` (which inherits them) because they serve
``ledgerctl workflows``, ``jobs`` and ``run`` rather than one app's releases. Mutating
calls get their ``request_id`` once, before any retry, like every other call.
``RunCommand`` alone is not retried: a command may have started before the connection
failed, and running it twice is not the user's intent.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from cli.client_base import ClientBase, paginate
from cli.transport import new_request_id
from ledger_api.v1 import ledger_pb2 as pb

COMMAND_GRACE = 60.0  # seconds the stream outlives the command's own timeout


class WorkflowCalls(ClientBase):
    """Typed calls of the workflow, job and one-off command RPCs, with the transport's rules."""

    # ------------------------------------------------------------------ workflows

    def create_workflow(
        self, name: str, settings: pb.WorkflowSettings, credentials: str = ""
    ) -> pb.WorkflowSecret:
        request = pb.CreateWorkflowRequest(
            name=name, settings=settings, credentials=credentials, request_id=new_request_id()
        )
        return self.transport.unary(self.stub.CreateWorkflow, request, pb.WorkflowSecret)

    def get_workflow(self, name: str) -> pb.Workflow:
        request = pb.GetWorkflowRequest(name=name)
        return self.transport.unary(self.stub.GetWorkflow, request, pb.Workflow)

    def list_workflows(self, limit: int) -> list[pb.Workflow]:
        def fetch(size: int, token: str) -> tuple[Sequence[pb.Workflow], str]:
            request = pb.ListWorkflowsRequest(page_size=size, page_token=token)
            page = self.transport.unary(self.stub.ListWorkflows, request, pb.ListWorkflowsResponse)
            return page.workflows, page.next_page_token

        return paginate(fetch, limit)

    def update_workflow(self, request: pb.UpdateWorkflowRequest) -> pb.Workflow:
        """Send a change; a ``request_id`` is added when the caller set none."""
        if not request.request_id:
            request.request_id = new_request_id()
        return self.transport.unary(self.stub.UpdateWorkflow, request, pb.Workflow)

    def delete_workflow(self, name: str) -> pb.Workflow:
        request = pb.DeleteWorkflowRequest(name=name, request_id=new_request_id())
        return self.transport.unary(self.stub.DeleteWorkflow, request, pb.Workflow)

    def rotate_workflow_secret(self, name: str) -> pb.WorkflowSecret:
        request = pb.RotateWorkflowSecretRequest(name=name, request_id=new_request_id())
        return self.transport.unary(self.stub.RotateWorkflowSecret, request, pb.WorkflowSecret)

    def resume_workflow(self, name: str, app: str = "") -> pb.Workflow:
        request = pb.ResumeWorkflowRequest(name=name, app=app, request_id=new_request_id())
        return self.transport.unary(self.stub.ResumeWorkflow, request, pb.Workflow)

    def run_workflow(self, name: str, *, branch: str = "", commit: str = "") -> pb.Job:
        request = pb.RunWorkflowRequest(
            name=name, branch=branch, commit=commit, request_id=new_request_id()
        )
        return self.transport.unary(self.stub.RunWorkflow, request, pb.Job)

    # ------------------------------------------------------------------ jobs

    def get_job(self, job_id: str) -> pb.Job:
        return self.transport.unary(self.stub.GetJob, pb.GetJobRequest(id=job_id), pb.Job)

    def list_jobs(self, workflow: str, limit: int) -> list[pb.Job]:
        """The jobs of ``workflow`` (empty: of every workflow the key may read), newest first."""

        def fetch(size: int, token: str) -> tuple[Sequence[pb.Job], str]:
            request = pb.ListJobsRequest(workflow=workflow, page_size=size, page_token=token)
            page = self.transport.unary(self.stub.ListJobs, request, pb.ListJobsResponse)
            return page.jobs, page.next_page_token

        return paginate(fetch, limit)

    def rerun_job(self, job_id: str) -> pb.Job:
        request = pb.RerunJobRequest(id=job_id, request_id=new_request_id())
        return self.transport.unary(self.stub.RerunJob, request, pb.Job)

    # ------------------------------------------------------------------ one-off commands

    def run_command(
        self, request: pb.RunCommandRequest
    ) -> Generator[pb.RunCommandResponse, None, None]:
        """The command's output as it comes, then its exit (``exited``). Not retried; closing
        the iterator (or leaving it by an exception, e.g. Ctrl-C) cancels the call, and
        ledgerd then stops the command."""
        timeout = (request.timeout_seconds or 3600) + COMMAND_GRACE
        call: Any = self.stub.RunCommand(
            request, timeout=timeout, metadata=self.transport.metadata()
        )
        try:
            for response in call:
                assert isinstance(response, pb.RunCommandResponse)
                yield response
        finally:
            call.cancel()
