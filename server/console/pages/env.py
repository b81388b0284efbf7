"""The Environment tab: the app's env (values masked until revealed), editing it as text
or key by key, and its history.

Values are secrets. They are read by the query GetEnv runs (``Queries.env``), which holds
them only when the key asked to reveal them and may see them, so a reader's hand-made
``?reveal=1`` is refused like its ``env --reveal`` is. Every edit is the UpdateEnv use
case, admitted for the policy's ``change_env`` action, with the env version its form was
rendered with: an edit made on a stale page is refused (Conflict) and the editor shown
again with the person's text, never merged silently. With an active release an edit
creates a release and promotes it ("Apply Changes"); without one it is only recorded
("Save") and the first build's release picks it up.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.errors import Conflict, FailedPrecondition, InvalidArgument, LedgerError, NotFound
from ledger.ids import ENV_KEY, check_app_name, check_request_id
from ledger.policy import Action, Principal
from ledger.queries import AppSummary, EnvState
from server.console.context import Console
from server.console.errors import status_of
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    int_field,
    signed_in,
)
from server.console.pages.env_text import KEY_RULE, env_text, multiline_keys, parse_env_text

HISTORY_SIZE = 50
CHANGED_MEANWHILE = (
    "The environment changed since you opened it (now version {version}): review and apply again."
)
NO_VERSION = "the form sent no expected_version: reload the page and edit again"
# Edits refused for what they say (re-rendered with the person's input); anything else,
# a refusal by the rules above all, goes to the error boundary.
REFUSALS = (InvalidArgument, Conflict, FailedPrecondition, NotFound)


@dataclass(frozen=True)
class Draft:
    """What a person sent, shown again when their edit is refused."""

    form: str  # "text", "key" or "add": the form it came from
    expected: int | None  # the env version the form was rendered with
    description: str = ""
    text: str = ""
    key: str = ""
    value: str = ""


@dataclass(frozen=True)
class Change:
    """The UpdateEnv arguments one form stands for."""

    set_values: dict[str, str]
    unset: tuple[str, ...] = ()
    replace: bool = False


def notice_of(request: Request) -> str:
    """The message a successful edit left for the page it returns to."""
    saved = request.query_params.get("saved", "")
    if saved.isdigit():
        return f"Saved: the env is now at version {int(saved)}."
    if request.query_params.get("unchanged") == "1":
        return "Nothing changed: the env already held these values."
    return ""


async def render_env(
    request: Request,
    console: Console,
    principal: Principal,
    header: AppSummary,
    reveal: bool,
    *,
    draft: Draft | None = None,
    refusal: LedgerError | None = None,
    opened: int | None = None,
) -> Response:
    """The tab: keys (masked or revealed), the editors when revealed and allowed, and the
    history; after a refused edit, the person's input again with why it was refused."""
    name = header.app.name
    queries = console.queries
    env: EnvState = await console.run(queries.env, principal, name, reveal=reveal)
    history = await console.run(queries.env_history, name, 0, HISTORY_SIZE)
    editing = not env.masked and console.may(principal, Action.CHANGE_ENV, name)
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
    context = app_context(
        header,
        "env",
        env=env,
        history=history,
        may_reveal=console.may(principal, Action.REVEAL_ENV, name),
        editing=editing,
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
    return console.render(request, "env.html", context, status, principal)


async def env_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    reveal = request.query_params.get("reveal", "") == "1"
    opened = int_field(dict(request.query_params), "opened")
    return await render_env(request, console, principal, header, reveal, opened=opened)


async def apply_text(request: Request) -> Response:
    """The textarea: it becomes the whole env (replace)."""
    return await submit(request, "text")


async def apply_key(request: Request) -> Response:
    """A row: set one key's value, or remove the key."""
    return await submit(request, "key")


async def add_key(request: Request) -> Response:
    """The "Add key" form: one key not set yet."""
    return await submit(request, "add")


async def submit(request: Request, kind: str) -> Response:
    """Admit the edit by UpdateEnv's rule, apply it, and go to the promotion it began
    (or back to the tab); a refused edit shows the editor again with the input."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    values = await form(request)
    console.allow(principal, Action.CHANGE_ENV, name)
    value = values.get("value", "")
    if values.get("multiline") == "1":  # a textarea: the browser sent its breaks as CRLF
        value = value.replace("\r\n", "\n")
    draft = Draft(
        form=kind,
        expected=int_field(values, "expected_version"),
        description=values.get("description", ""),
        text=values.get("text", ""),
        key=values.get("key", "").strip(),
        value=value,
    )
    try:
        if draft.expected is None:
            raise InvalidArgument(NO_VERSION)
        change = await change_of(console, principal, name, draft, values.get("op", "set"))
        command = commands.UpdateEnv(
            app=name,
            set_values=change.set_values,
            unset=change.unset,
            replace=change.replace,
            expected_version=draft.expected,
            promote=values.get("promote") == "1",
            description=draft.description,
        )
        request_id = check_request_id(values.get("request_id", ""))
        service = console.backend.service
        outcome = await console.execute(principal, service.update_env, command, request_id)
    except REFUSALS as refusal:
        header = await app_header(console, principal, name)
        return await render_env(
            request, console, principal, header, True, draft=draft, refusal=refusal
        )
    if outcome.promotion_id:
        return RedirectResponse(f"/apps/{name}/promotions/{outcome.promotion_id}", 303)
    changed = outcome.added or outcome.changed or outcome.removed
    done = f"saved={outcome.env_version}" if changed else "unchanged=1"
    return RedirectResponse(f"/apps/{name}/env?reveal=1&{done}", 303)


async def change_of(
    console: Console, principal: Principal, name: str, draft: Draft, op: str
) -> Change:
    """The UpdateEnv arguments of a form: the textarea replaces the whole env; a row sets
    (``op=set``) or removes (``op=remove``) its key; "Add key" adds one not set yet (one
    already set at the version the form saw is refused, never overwritten: its row
    changes it; at another version the use case decides, which also lets a form sent
    twice get its first answer)."""
    if draft.form == "text":
        return Change(parse_env_text(draft.text), replace=True)
    if not ENV_KEY.fullmatch(draft.key):
        raise InvalidArgument(f"the key is not a valid name ({KEY_RULE})")
    if draft.form == "add":
        env: EnvState = await console.run(console.queries.env, principal, name)
        if draft.key in env.values and env.version == draft.expected:
            raise InvalidArgument(f"{draft.key} is already set: change it in its row")
        return Change({draft.key: draft.value})
    if op == "remove":
        return Change({}, unset=(draft.key,))
    if op != "set":
        raise InvalidArgument("op must be set or remove")
    return Change({draft.key: draft.value})


routes: list[BaseRoute] = [
    Route("/apps/{app}/env", env_page, methods=["GET"]),
    Route("/apps/{app}/env/text", apply_text, methods=["POST"]),
    Route("/apps/{app}/env/key", apply_key, methods=["POST"]),
    Route("/apps/{app}/env/add", add_key, methods=["POST"]),
]
