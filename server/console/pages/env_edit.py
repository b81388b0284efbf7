"""Env edits as the console sends them: what a form asks for (a :class:`Draft`), and the
UpdateEnv command it stands for.

Every edit form of the Environment tab posts to the preview (nothing recorded), whose
"Apply Changes" form posts the same fields to apply: both build the command here, so
what the preview showed is what applying does. The expected env version travels with the
edit from the page it was made on, so an edit of a head that moved meanwhile is refused
(Conflict), never merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import commands
from ledger.errors import InvalidArgument
from ledger.ids import ENV_KEY
from ledger.policy import Principal
from ledger.queries import EnvState
from server.console.context import Console
from server.console.pages.common import int_field
from server.console.pages.env_text import KEY_RULE, parse_env_text

NO_VERSION = "the form sent no expected_version: reload the page and edit again"
FORMS = ("text", "key", "add")


@dataclass(frozen=True)
class Draft:
    """What a person sent: shown again when their edit is refused, carried from the
    preview to "Apply Changes"."""

    form: str  # "text" (the whole env as lines), "key" (one key, op set or remove), "add"
    expected: int | None  # the env version the form was rendered with
    op: str = "set"
    description: str = ""
    text: str = ""
    key: str = ""
    value: str = ""
    multiline: bool = False  # the value came from a textarea
    promote: bool = False  # applying promotes (the page saw an active release)


def draft_of(values: dict[str, str]) -> Draft:
    """The draft a posted form holds."""
    multiline = values.get("multiline") == "1"
    value = values.get("value", "")
    if multiline:  # a textarea: the browser sent its breaks as CRLF
        value = value.replace("\r\n", "\n")
    kind = values.get("form", "key")
    return Draft(
        form=kind if kind in FORMS else "key",
        expected=int_field(values, "expected_version"),
        op=values.get("op", "set"),
        description=values.get("description", ""),
        text=values.get("text", ""),
        key=values.get("key", "").strip(),
        value=value,
        multiline=multiline,
        promote=values.get("promote") == "1",
    )


async def command_of(
    console: Console, principal: Principal, name: str, draft: Draft
) -> commands.UpdateEnv:
    """The UpdateEnv a draft stands for: the text replaces the whole env; a key's form
    sets (``op=set``) or removes (``op=remove``) it; "Add key" adds one not set yet (one
    already set at the version the form saw is refused, never overwritten: its Edit
    changes it; at another version the use case decides)."""
    if draft.expected is None:
        raise InvalidArgument(NO_VERSION)
    set_values: dict[str, str] = {}
    unset: tuple[str, ...] = ()
    if draft.form == "text":
        set_values = parse_env_text(draft.text)
    elif not ENV_KEY.fullmatch(draft.key):
        raise InvalidArgument(f"the key is not a valid name ({KEY_RULE})")
    elif draft.form == "add":
        env: EnvState = await console.run(console.queries.env, principal, name)
        if draft.key in env.values and env.version == draft.expected:
            raise InvalidArgument(f"{draft.key} is already set: use its Edit to change it")
        set_values = {draft.key: draft.value}
    elif draft.op == "remove":
        unset = (draft.key,)
    elif draft.op == "set":
        set_values = {draft.key: draft.value}
    else:
        raise InvalidArgument("op must be set or remove")
    return commands.UpdateEnv(
        app=name,
        set_values=set_values,
        unset=unset,
        replace=draft.form == "text",
        expected_version=draft.expected,
        promote=draft.promote,
        description=draft.description,
    )
