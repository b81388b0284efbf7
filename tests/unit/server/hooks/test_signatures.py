"""Only a delivery signed with the hook's secret, for exactly its body, is accepted."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from ledger.errors import InvalidArgument, Unauthenticated
from ledger.workflows.triggers import Provider
from server.hooks.providers import verify
from tests.support.webhook_payloads import SECRET

# GitHub's documented test vector for X-Hub-Signature-256
VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

BODY = b'{"ref": "refs/heads/main"}'


def signed(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_githubs_own_test_vector_verifies() -> None:
    verify(Provider.GITHUB, {"X-Hub-Signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, VECTOR_SECRET)


def test_header_names_are_matched_in_any_case() -> None:
    verify(Provider.GITHUB, {"x-hub-signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, VECTOR_SECRET)


def test_a_body_changed_by_one_byte_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="does not match"):
        verify(
            Provider.GITHUB,
            {"X-Hub-Signature-256": VECTOR_SIGNATURE},
            b"Hello, World?",
            VECTOR_SECRET,
        )


def test_a_github_signature_made_with_another_secret_is_refused() -> None:
    forged = "sha256=" + signed(BODY, "guessed")
    with pytest.raises(Unauthenticated, match="X-Hub-Signature-256 does not match"):
        verify(Provider.GITHUB, {"X-Hub-Signature-256": forged}, BODY, SECRET)


def test_a_github_delivery_without_a_signature_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="no X-Hub-Signature-256 header"):
        verify(Provider.GITHUB, {"X-GitHub-Event": "push"}, BODY, SECRET)


def test_a_bare_hex_signature_is_not_githubs_format() -> None:
    with pytest.raises(Unauthenticated):
        verify(Provider.GITHUB, {"X-Hub-Signature-256": signed(BODY)}, BODY, SECRET)


def test_gitea_signs_with_bare_hex_in_its_own_header() -> None:
    verify(Provider.GITEA, {"X-Gitea-Signature": signed(BODY)}, BODY, SECRET)


def test_forgejo_signs_in_its_own_header_too() -> None:
    verify(Provider.GITEA, {"X-Forgejo-Signature": signed(BODY)}, BODY, SECRET)


def test_gitea_falls_back_to_the_github_style_signature() -> None:
    verify(Provider.GITEA, {"X-Hub-Signature-256": "sha256=" + signed(BODY)}, BODY, SECRET)


def test_a_forged_gitea_signature_is_refused_even_beside_a_valid_github_one() -> None:
    headers = {
        "X-Gitea-Signature": signed(BODY, "guessed"),
        "X-Hub-Signature-256": "sha256=" + signed(BODY),
    }
    with pytest.raises(Unauthenticated, match="X-Gitea-Signature does not match"):
        verify(Provider.GITEA, headers, BODY, SECRET)


def test_a_gitea_delivery_without_a_signature_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="no X-Gitea-Signature header"):
        verify(Provider.GITEA, {"X-Gitea-Event": "push"}, BODY, SECRET)


def test_gitlab_sends_the_secret_itself_as_its_token() -> None:
    verify(Provider.GITLAB, {"X-Gitlab-Token": SECRET}, BODY, SECRET)


@pytest.mark.parametrize("token", ["guessed", SECRET[:-1], SECRET + "x", "", "sécret"])
def test_a_wrong_gitlab_token_is_refused(token: str) -> None:
    with pytest.raises(Unauthenticated, match="X-Gitlab-Token does not match"):
        verify(Provider.GITLAB, {"X-Gitlab-Token": token}, BODY, SECRET)


def test_a_gitlab_delivery_without_a_token_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="no X-Gitlab-Token header"):
        verify(Provider.GITLAB, {"X-Gitlab-Event": "Push Hook"}, BODY, SECRET)


def test_a_hook_without_a_secret_accepts_nothing() -> None:
    with pytest.raises(Unauthenticated, match="no secret"):
        verify(Provider.GITLAB, {"X-Gitlab-Token": ""}, BODY, "")


@pytest.mark.parametrize(
    ("provider", "header", "forged"),
    [
        (Provider.GITHUB, "X-Hub-Signature-256", "sha256=" + signed(BODY, "guessed")),
        (Provider.GITEA, "X-Gitea-Signature", signed(BODY, "guessed")),
        (Provider.GITLAB, "X-Gitlab-Token", "guessed-token"),
    ],
)
def test_a_refusal_shows_neither_the_secret_nor_what_was_received(
    provider: Provider, header: str, forged: str
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        verify(provider, {header: forged}, BODY, SECRET)
    message = str(refused.value)
    assert SECRET not in message
    assert forged not in message
    assert signed(BODY) not in message


def test_polling_and_manual_runs_are_not_webhooks() -> None:
    with pytest.raises(InvalidArgument, match="not a webhook provider"):
        verify(Provider.POLL, {}, BODY, SECRET)
