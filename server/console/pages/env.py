"""The Environment tab: one editor for the app's env (values masked), previewing every
change before it is applied, and the env's history.

Values are secrets. They are read by the query GetEnv runs (``Queries.env``), which holds
them only when the key asked to reveal them and may see them, so a reader's hand-made
``?reveal=1`` is refused like its ``env --reveal`` is. Editing one key (``?edit=KEY``)
shows that key's current value only, and only to a key that may reveal the env; one that
may change but not reveal it overwrites the value without seeing it. The whole env as
``KEY=VALUE`` lines (``?mode=text``) holds every value, so it is for keys that may reveal.

Every edit form posts to the preview, which records nothing: the keys added, changed and
removed, and whether applying deploys (with an active release: a release of its build
with the new env, promoted) or only records the change. Its "Apply Changes" posts the
same edit with the env version the editor showed (UpdateEnv, the ``change_env`` rule): an
edit of a head that moved meanwhile is refused (409) and the editor shown again with the
person's input, never merged silently. Cancel is a link back: nothing was changed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger.errors import Conflict, FailedPrecondition, InvalidArgument, LedgerError, NotFound
from ledger.ids import check_app_name, check_request_id
from ledger.policy import Action, Principal
from ledger.queries import AppSummary, EnvPreview, EnvState
from server.console.context import Console
from server.console.errors import status_of
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    fragment_of,
    int_field,
    signed_in,
)
from server.console.pages.env_edit import Draft, command_of, draft_of
from server.console.pages.env_text import KEY_RULE, env_text, multiline_keys

HISTORY_SIZE = 50
CHANGED_MEANWHILE = (
    "The environment changed since you opened it (now version {version}): review and apply again."
)
REGIONS = {
    "env-view": "_env_view.html",
    "env-watch": "_env_watch.html",
    "env-history": "_env_history.html",
}
"""The tab's live regions and their templates, each rendered alone when htmx asks for it."""
# Edits refused for what they say (re-rendered with the person's input); anything else,
# a refusal by the rules above all, goes to the error boundary.
REFUSALS = (InvalidArgument, Conflict, FailedPrecondition, NotFound)


def notice_of(request: Request) -> str:
    """The message a successful edit left for the page it returns to."""
    saved = request.query_params.get("saved", "")
    if saved.isdigit():
        return f"Saved: the env is now at version {int(saved)}."
    if request.query_params.get("unchanged") == "1":
        return "Nothing changed: the env already held these values."
    return ""


async def edited_value(
    console: Console, principal: Principal, name: str, key: str, may_reveal: bool
) -> tuple[str, bool]:
    """The current value of the one key being edited (only to a key that may reveal the
    env: '' otherwise), and whether it spans lines."""
    if not key or not may_reveal:
        return "", False
    env: EnvState = await console.run(console.queries.env, principal, name, reveal=True)
    value = env.values.get(key, "")
    return value, "\n" in value or "\r" in value


async def render_env(
    request: Request,
    console: Console,
    principal: Principal,
    header: AppSummary,
    *,
    reveal: bool = False,
    mode: str = "",
    edit: str = "",
    draft: Draft | None = None,
    refusal: LedgerError | None = None,
    opened: int | None = None,
) -> Response:
    """The tab: keys (masked unless revealed) with an Edit per key, the key being edited,
    "Add key", the text mode, and the history; after a refused edit, the person's input
    again with why it was refused."""
    name = header.app.name
    queries = console.queries
    text_mode = mode == "text"
    env: EnvState = await console.run(queries.env, principal, name, reveal=reveal or text_mode)
    history = await console.run(queries.env_history, name, 0, HISTORY_SIZE)
    may_reveal = console.may(principal, Action.REVEAL_ENV, name)
    may_change = console.may(principal, Action.CHANGE_ENV, name)
    value, multiline = await edited_value(console, principal, name, edit, may_reveal)
    version = env.version  # what the edit forms carry
    error, status = "", 200
    if refusal is not None:
        status = status_of(refusal)
        stale = draft is not None and draft.expected != version
        # A promotion in flight is checked before the version: a stale form hears first
        # that the env changed, which is what to act on.
        if stale and isinstance(refusal, Conflict | FailedPrecondition):
            status, error = 409, CHANGED_MEANWHILE.format(version=version)
        else:
            error = str(refusal)
            if draft is not None and draft.expected is not None:
                version = draft.expected  # their input still stands on that version
    values = {} if env.masked else env.values
    editing = may_change and bool(edit or text_mode)
    context = app_context(
        header,
        "env",
        env=env,
        history=history,
        may_reveal=may_reveal,
        may_change=may_change,
        revealed=not env.masked and not text_mode,
        text_mode=text_mode and may_change,
        edit=edit if may_change and edit in env.values else "",
        edit_value=draft.value if draft is not None and draft.form == "key" else value,
        edit_multiline=multiline or (draft is not None and draft.multiline),
        version=version,
        opened=version if editing else opened,
        promote=bool(header.app.active_release_id),
        text=draft.text if draft is not None and draft.form == "text" else env_text(values),
        multiline=multiline_keys(values),
        key_rule=KEY_RULE,
        draft=draft,
        error=error,
        notice="" if refusal else notice_of(request),
        history_size=HISTORY_SIZE,
    )
    # A live region is re-rendered alone (render_page, with this page's status).
    template = fragment_of(request, REGIONS) or "env.html"
    return console.render(request, template, context, status, principal)


async def env_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    params = request.query_params
    return await render_env(
        request,
        console,
        principal,
        header,
        reveal=params.get("reveal", "") == "1",
        mode=params.get("mode", ""),
        edit=params.get("edit", "").strip(),
        opened=int_field(dict(params), "opened"),
    )


async def refused(
    request: Request, console: Console, principal: Principal, draft: Draft, why: LedgerError
) -> Response:
    """The editor again, in the mode the draft came from, with the input and why."""
    header = await app_header(console, principal, request.path_params["app"])
    mode = "text" if draft.form == "text" else ""
    edit = draft.key if draft.form == "key" and draft.op == "set" else ""
    return await render_env(
        request, console, principal, header, mode=mode, edit=edit, draft=draft, refusal=why
    )


async def preview(request: Request) -> Response:
    """What an edit would change, with "Apply Changes" and Cancel (nothing recorded)."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    draft = draft_of(await form(request))
    console.allow(principal, Action.CHANGE_ENV, name)
    try:
        command = await command_of(console, principal, name, draft)
        shown: EnvPreview = await console.run(console.queries.env_preview, command)
    except REFUSALS as refusal:
        return await refused(request, console, principal, draft, refusal)
    header = await app_header(console, principal, name)
    may_reveal = console.may(principal, Action.REVEAL_ENV, name)
    context = app_context(
        header,
        "env",
        preview=shown,
        draft=draft,
        new_values=command.set_values if may_reveal else {},
        active=header.active,
    )
    return console.render(request, "env_preview.html", context, principal=principal)


async def apply(request: Request) -> Response:
    """ "Apply Changes": the previewed edit, if the env is still at the version previewed;
    then to the promotion it began, or back to the tab."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    values = await form(request)
    draft = draft_of(values)
    console.allow(principal, Action.CHANGE_ENV, name)
    try:
        command = await command_of(console, principal, name, draft)
        request_id = check_request_id(values.get("request_id", ""))
        service = console.backend.service
        outcome = await console.execute(principal, service.update_env, command, request_id)
    except REFUSALS as refusal:
        return await refused(request, console, principal, draft, refusal)
    if outcome.promotion_id:
        return RedirectResponse(f"/apps/{name}/promotions/{outcome.promotion_id}", 303)
    changed = outcome.added or outcome.changed or outcome.removed
    done = f"saved={outcome.env_version}" if changed else "unchanged=1"
    return RedirectResponse(f"/apps/{name}/env?{done}", 303)


routes: list[BaseRoute] = [
    Route("/apps/{app}/env", env_page, methods=["GET"]),
    Route("/apps/{app}/env/preview", preview, methods=["POST"]),
    Route("/apps/{app}/env/apply", apply, methods=["POST"]),
]
