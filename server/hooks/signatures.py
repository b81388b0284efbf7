"""Is a webhook delivery from the git host we share the hook's secret with?

Checked on the raw body, before any byte of it is parsed, so a forged request costs us one
HMAC and nothing else. Every comparison runs in constant time (:func:`hmac.compare_digest`),
so the time a refusal takes tells a forger nothing about how close the guess was. A
refusal is :class:`~ledger.errors.Unauthenticated` (401 / UNAUTHENTICATED) and its message
names the header concerned, never the secret nor the signature received.

- GitHub signs with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.
- Gitea and Forgejo send the bare hex in ``X-Gitea-Signature`` (Forgejo also
  ``X-Forgejo-Signature``) and, for GitHub compatibility, ``X-Hub-Signature-256``.
- GitLab signs nothing: it sends the secret itself as ``X-Gitlab-Token``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from ledger.errors import InvalidArgument, Unauthenticated
from ledger.workflows.triggers import Provider

GITHUB_SIGNATURE = "x-hub-signature-256"
GITEA_SIGNATURES = ("x-gitea-signature", "x-forgejo-signature")
GITLAB_TOKEN = "x-gitlab-token"
DISPLAY_NAMES = {
    GITHUB_SIGNATURE: "X-Hub-Signature-256",
    "x-gitea-signature": "X-Gitea-Signature",
    "x-forgejo-signature": "X-Forgejo-Signature",
    GITLAB_TOKEN: "X-Gitlab-Token",
}


def lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers keyed by lower-case name: HTTP header names are case-insensitive."""
    return {name.lower(): value for name, value in headers.items()}


def verify(provider: Provider, headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Accept the delivery only if it carries proof of ``secret`` for exactly ``body``.

    Raises :class:`Unauthenticated` when the proof is missing or wrong, and also when no
    secret is configured (an empty secret would be no secret: refuse rather than trust),
    and :class:`InvalidArgument` for a provider that sends no webhooks.
    """
    if not secret:
        raise Unauthenticated("webhook refused: this hook has no secret configured")
    lower = lowered(headers)
    if provider is Provider.GITHUB:
        _check_github(lower, body, secret)
    elif provider is Provider.GITEA:
        _check_gitea(lower, body, secret)
    elif provider is Provider.GITLAB:
        _check_gitlab(lower, secret)
    else:
        raise InvalidArgument(f"{provider.value} is not a webhook provider")


def _check_github(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    received = _required(headers, GITHUB_SIGNATURE)
    _check_same(GITHUB_SIGNATURE, received.lower(), "sha256=" + _hmac_hex(secret, body))


def _check_gitea(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Gitea's own header first; the GitHub-style one only when Gitea's is absent."""
    for name in GITEA_SIGNATURES:
        if name in headers:
            _check_same(name, headers[name].strip().lower(), _hmac_hex(secret, body))
            return
    if GITHUB_SIGNATURE in headers:
        _check_github(headers, body, secret)
        return
    raise Unauthenticated("webhook refused: no X-Gitea-Signature header (set the hook's secret)")


def _check_gitlab(headers: Mapping[str, str], secret: str) -> None:
    """Compare digests of the two tokens, so that even their lengths take equal time."""
    received = _required(headers, GITLAB_TOKEN)
    _check_same(GITLAB_TOKEN, _digest_hex(received), _digest_hex(secret))


def _required(headers: Mapping[str, str], name: str) -> str:
    if name not in headers:
        raise Unauthenticated(
            f"webhook refused: no {DISPLAY_NAMES[name]} header (set the hook's secret)"
        )
    return headers[name].strip()


def _check_same(name: str, received: str, expected: str) -> None:
    """Constant-time equality; bytes, because compare_digest refuses non-ASCII text."""
    if not hmac.compare_digest(received.encode(errors="replace"), expected.encode()):
        raise Unauthenticated(
            f"webhook refused: {DISPLAY_NAMES[name]} does not match the hook's secret"
        )


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _digest_hex(text: str) -> str:
    return hashlib.sha256(text.encode(errors="replace")).hexdigest()
