"""From a git host's webhook request to a :class:`~ledger.workflows.triggers.Delivery`.

Pure functions, no HTTP: the endpoint reads at most :data:`MAX_BODY_BYTES`, asks
:func:`provider_of` who sent the request, :func:`verify` its signature on the raw body,
and only then :func:`parse` it. Parsing is strict, because the payload comes from the
network: anything that is not the JSON shape the host documents (not an object, a field
missing, a number sent as a string, a delivery id that is no printable ASCII) is
:class:`~ledger.errors.InvalidArgument`, never an exception of another kind. Free text
(commit messages, names) is truncated, not refused; text a workflow acts on (refs, shas,
URLs) is refused when it is not plausible, never shortened into something else.

GitHub and Gitea / Forgejo send the same JSON for pushes and pull requests (so one mapping
reads both, :mod:`server.hooks.github`); GitLab has its own (:mod:`server.hooks.gitlab`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NoReturn

from ledger.errors import InvalidArgument
from ledger.workflows.triggers import Delivery, Provider, TriggerKind
from server.hooks import github, gitlab
from server.hooks.payload import Payload
from server.hooks.signatures import lowered, verify

__all__ = ["MAX_BODY_BYTES", "parse", "provider_of", "verify"]

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_HEADER_CHARS = 200

# header names (lower case) that identify a provider, in the order they are asked: Gitea
# and Forgejo also send GitHub's headers, so theirs must win
GITEA_EVENT = ("x-gitea-event", "x-forgejo-event")
GITEA_DELIVERY = ("x-gitea-delivery", "x-forgejo-delivery")
GITLAB_EVENT = "x-gitlab-event"
GITHUB_EVENT = "x-github-event"

# per provider: the headers naming the event, then those holding the delivery id
HEADERS: dict[Provider, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Provider.GITHUB: ((GITHUB_EVENT,), ("x-github-delivery",)),
    Provider.GITEA: (GITEA_EVENT, GITEA_DELIVERY),
    Provider.GITLAB: ((GITLAB_EVENT,), ("x-gitlab-event-uuid", "idempotency-key")),
}


def provider_of(headers: Mapping[str, str]) -> Provider:
    """The git host that sent a request, from its headers (names in any case)."""
    lower = lowered(headers)
    if any(name in lower for name in (*GITEA_EVENT, *GITEA_DELIVERY)):
        return Provider.GITEA
    if GITLAB_EVENT in lower:
        return Provider.GITLAB
    if GITHUB_EVENT in lower:
        return Provider.GITHUB
    raise InvalidArgument(
        "not a GitHub, GitLab or Gitea webhook: no X-GitHub-Event, X-Gitlab-Event "
        "or X-Gitea-Event header"
    )


def parse(provider: Provider, headers: Mapping[str, str], body: bytes) -> Delivery:
    """The delivery a verified request stands for.

    Events no workflow acts on (a tag push, a GitLab wiki edit, a GitHub star) are
    deliveries of kind OTHER: the host is answered, nothing starts. Raises
    :class:`InvalidArgument` on anything malformed.
    """
    if provider not in HEADERS:
        raise InvalidArgument(f"{provider.value} is not a webhook provider")
    lower = lowered(headers)
    event_names, delivery_names = HEADERS[provider]
    event = _header(lower, event_names, "event")
    delivery_id = _header(lower, delivery_names, "delivery id")
    template = Delivery(provider, delivery_id, event, TriggerKind.OTHER)
    payload = _load(provider, body)
    if provider is Provider.GITLAB:
        return gitlab.delivery(template, payload)
    return github.delivery(template, payload)


def _header(headers: Mapping[str, str], names: tuple[str, ...], what: str) -> str:
    """The first of ``names`` present: 1 to 200 characters of printable ASCII."""
    shown = " or ".join(names)
    for name in names:
        if name in headers:
            value = headers[name].strip()
            if not 0 < len(value) <= MAX_HEADER_CHARS:
                _malformed(f"the {what} ({name}) must have 1 to {MAX_HEADER_CHARS} characters")
            if not all(" " <= char <= "~" for char in value):
                _malformed(f"the {what} ({name}) must be printable ASCII")
            return value
    _malformed(f"no {what} header ({shown})")


def _load(provider: Provider, body: bytes) -> Payload:
    """The body as a JSON object; NaN and Infinity are not JSON and are refused too."""
    if len(body) > MAX_BODY_BYTES:
        _malformed(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        _malformed("the body is not JSON (configure the hook to send application/json)")
    if not isinstance(data, dict):
        _malformed("the body is not a JSON object")
    return Payload(data, provider.value)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _malformed(why: str) -> NoReturn:
    raise InvalidArgument(f"malformed webhook: {why}")
