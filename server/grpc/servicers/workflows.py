"""Workflows and their jobs: CreateWorkflow … RerunJob.

Translation only: the use cases are :class:`~ledger.workflows.service.WorkflowService`'s,
the reads :mod:`ledger.queries.workflows`'s. Admission (the workflow's apps decide) is
the interceptor's; lists keep only what the key may read.
"""

from __future__ import annotations

from typing import Any

from ledger.domain import Hook, PromoteMode, WorkflowSettings
from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from ledger.views import JobView, WorkflowView
from ledger.workflows.commands import CreateWorkflow, ResumeWorkflow, RunWorkflow, UpdateWorkflow
from ledger.workflows.settings import SettingsChange, check_workflow_name, parse_hook
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.paging import int_cursor, page_request, paginate, str_cursor
from server.grpc.servicers.base import ServicerBase

SETTINGS_FIELDS = frozenset(pb.WorkflowSettings.DESCRIPTOR.fields_by_name)


class WorkflowsServicer(ServicerBase):
    """The workflow RPCs of ``ledger.v1.Ledger``."""

    @rpc
    async def CreateWorkflow(self, request: pb.CreateWorkflowRequest, context: Any) -> Any:
        meta = meta_of(principal_of(context), request.request_id)
        command = CreateWorkflow(request.name, settings_of(request.settings), request.credentials)
        created = await self.backend.run(self.backend.container.workflows.create, command, meta)
        await self.backend.caught_up(created.position)
        return pb.WorkflowSecret(workflow=await self._workflow(request.name), secret=created.secret)

    @rpc
    async def GetWorkflow(self, request: pb.GetWorkflowRequest, context: Any) -> pb.Workflow:
        return await self._workflow(request.name)

    @rpc
    async def ListWorkflows(self, request: pb.ListWorkflowsRequest, context: Any) -> Any:
        paging = page_request(request.page_size, request.page_token, ["ListWorkflows"])
        queries = self.backend.queries
        views = await self.backend.run(
            queries.visible_workflows, principal_of(context), str_cursor(paging), paging.size + 1
        )
        page = paginate(paging, views, lambda view: view.name)
        messages = [await self._message(view) for view in page.items]
        return pb.ListWorkflowsResponse(workflows=messages, next_page_token=page.next_page_token)

    @rpc
    async def UpdateWorkflow(self, request: pb.UpdateWorkflowRequest, context: Any) -> Any:
        check_workflow_name(request.name)
        meta = meta_of(principal_of(context), request.request_id)
        credentials = request.credentials if request.change_credentials else None
        change = change_of(request.settings, list(request.update_fields))
        command = UpdateWorkflow(request.name, change, credentials)
        await self.backend.execute(self.backend.container.workflows.update, command, meta)
        return await self._workflow(request.name)

    @rpc
    async def DeleteWorkflow(self, request: pb.DeleteWorkflowRequest, context: Any) -> Any:
        check_workflow_name(request.name)
        meta = meta_of(principal_of(context), request.request_id)
        await self.backend.execute(self.backend.container.workflows.delete, request.name, meta)
        view = await self.backend.run(self.backend.queries.workflow, request.name, True)
        return await self._message(view)

    @rpc
    async def RotateWorkflowSecret(
        self, request: pb.RotateWorkflowSecretRequest, context: Any
    ) -> Any:
        check_workflow_name(request.name)
        meta = meta_of(principal_of(context), request.request_id)
        service = self.backend.container.workflows
        rotated = await self.backend.run(service.rotate_secret, request.name, meta)
        await self.backend.caught_up(rotated.position)
        return pb.WorkflowSecret(workflow=await self._workflow(request.name), secret=rotated.secret)

    @rpc
    async def ResumeWorkflow(self, request: pb.ResumeWorkflowRequest, context: Any) -> Any:
        check_workflow_name(request.name)
        meta = meta_of(principal_of(context), request.request_id)
        command = ResumeWorkflow(request.name, check_app_name(request.app) if request.app else "")
        await self.backend.execute(self.backend.container.workflows.resume, command, meta)
        return await self._workflow(request.name)

    @rpc
    async def RunWorkflow(self, request: pb.RunWorkflowRequest, context: Any) -> pb.Job:
        check_workflow_name(request.name)
        meta = meta_of(principal_of(context), request.request_id)
        command = RunWorkflow(request.name, request.branch, request.commit)
        outcome = await self.backend.execute(self.backend.container.workflows.run, command, meta)
        return await self._job(outcome.job_id)

    @rpc
    async def GetJob(self, request: pb.GetJobRequest, context: Any) -> pb.Job:
        return await self._job(request.id)

    @rpc
    async def ListJobs(self, request: pb.ListJobsRequest, context: Any) -> pb.ListJobsResponse:
        paging = page_request(request.page_size, request.page_token, ["ListJobs", request.workflow])
        views = await self.backend.run(
            self.backend.queries.visible_jobs,
            principal_of(context),
            request.workflow,
            int_cursor(paging),
            paging.size + 1,
        )
        page = paginate(paging, views, lambda view: view.position)
        jobs = [job_message(view) for view in page.items]
        return pb.ListJobsResponse(jobs=jobs, next_page_token=page.next_page_token)

    @rpc
    async def RerunJob(self, request: pb.RerunJobRequest, context: Any) -> pb.Job:
        meta = meta_of(principal_of(context), request.request_id)
        service = self.backend.container.workflows
        outcome = await self.backend.execute(service.rerun, request.id, meta)
        return await self._job(outcome.job_id)

    # -- reading back ---------------------------------------------------------------------

    async def _workflow(self, name: str) -> pb.Workflow:
        return await self._message(await self.backend.run(self.backend.queries.workflow, name))

    async def _message(self, view: WorkflowView) -> pb.Workflow:
        paused = await self.backend.run(self.backend.queries.paused_apps, view)
        return workflow_message(view, paused, self.backend.hook_url(view.name))

    async def _job(self, job_id: str) -> pb.Job:
        return job_message(await self.backend.run(self.backend.queries.job, job_id))


def settings_of(message: pb.WorkflowSettings) -> WorkflowSettings:
    """The settings a request gives (unset fields: their defaults)."""
    return WorkflowSettings(
        repository=message.repository,
        branch=message.branch or WorkflowSettings.branch,
        apps=tuple(message.apps),
        promote=_promote_mode(message.promote) if message.promote else WorkflowSettings.promote,
        before_promote=_hooks(message.before_promote),
        after_promote=_hooks(message.after_promote),
        review_apps=message.review_apps,
        review_env=dict(message.review_env),
        wait_for_ci=message.wait_for_ci,
        poll_seconds=message.poll_seconds,
        allow_forks=message.allow_forks,
    )


def change_of(message: pb.WorkflowSettings, fields: list[str]) -> SettingsChange:
    unknown = sorted(set(fields) - SETTINGS_FIELDS)
    if unknown:
        raise InvalidArgument(f"unknown settings field {unknown[0][:40]!r} in update_fields")
    if not fields:
        return SettingsChange()
    given = settings_of(message)
    return SettingsChange(**{name: getattr(given, name) for name in fields})


def _promote_mode(value: str) -> PromoteMode:
    try:
        return PromoteMode(value)
    except ValueError:
        raise InvalidArgument("promote is auto or manual") from None


def _hooks(texts: Any) -> tuple[Hook, ...]:
    return tuple(parse_hook(text) for text in texts)


def workflow_message(view: WorkflowView, paused: list[tuple[str, str]], url: str) -> pb.Workflow:
    settings = pb.WorkflowSettings(
        repository=view.repository,
        branch=view.branch,
        apps=list(view.apps),
        promote=view.promote,
        before_promote=list(view.before_promote),
        after_promote=list(view.after_promote),
        review_apps=view.review_apps,
        review_env={key: "***" for key in view.review_env_keys},
        wait_for_ci=view.wait_for_ci,
        poll_seconds=view.poll_seconds,
        allow_forks=view.allow_forks,
    )
    return pb.Workflow(
        name=view.name,
        settings=settings,
        has_credentials=view.has_credentials,
        actor=view.actor,
        created_at=convert.timestamp(view.created_at),
        updated_at=convert.timestamp(view.updated_at),
        webhook_url=url,
        paused=[pb.PausedApp(app=app, reason=reason) for app, reason in paused],
        deleted=view.deleted,
    )


def job_message(view: JobView) -> pb.Job:
    return pb.Job(
        id=view.id,
        workflow=view.workflow,
        kind=view.kind,
        status=view.status,
        apps=list(view.apps),
        provider=view.provider,
        delivery_id=view.delivery_id,
        ref=view.ref,
        sha=view.sha,
        pusher=view.pusher,
        pull_number=view.pull_number,
        message=view.message,
        rerun_of=view.rerun_of,
        cause=view.cause,
        checks=view.checks,
        actor=view.actor,
        created_at=convert.timestamp(view.created_at),
        started_at=convert.timestamp(view.started_at),
        ended_at=convert.timestamp(view.ended_at),
        steps=[
            pb.JobStep(
                name=step.name,
                app=step.app,
                status=step.status,
                detail=step.detail,
                build_id=step.build_id,
                release_id=step.release_id,
                promotion_id=step.promotion_id,
            )
            for step in view.steps
        ],
    )
