"""Whatever arrives, parsing answers a Delivery or InvalidArgument, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidArgument
from ledger.workflows.triggers import Delivery, Provider
from server.hooks.providers import MAX_BODY_BYTES, parse
from tests.support.webhook_payloads import (
    DELETE,
    GITEA_PULL_REQUEST,
    GITEA_PUSH,
    GITEA_STATUS,
    GITHUB_CHECK_SUITE,
    GITHUB_PULL_REQUEST,
    GITHUB_PUSH,
    GITHUB_STATUS,
    GITLAB_MERGE_REQUEST,
    GITLAB_PIPELINE,
    GITLAB_PUSH,
    changed,
    encoded,
    gitea_headers,
    github_headers,
    gitlab_headers,
)

PUSH_HEADERS = github_headers("push")


def refused(body: bytes, headers: dict[str, str] = PUSH_HEADERS) -> str:
    """The message of the InvalidArgument that parsing a GitHub delivery raises."""
    with pytest.raises(InvalidArgument) as error:
        parse(Provider.GITHUB, headers, body)
    return str(error.value)


@pytest.mark.parametrize(
    "body",
    [b"", b"payload=%7B%22ref%22%7D", b'{"ref": ', b"\xff\xfe{}", b"[" * 100_000, b"NaN"],
)
def test_a_body_that_is_not_json_is_refused(body: bytes) -> None:
    assert "not JSON" in refused(body)


@pytest.mark.parametrize("body", [b"[]", b'"push"', b"42", b"null"])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    assert "not a JSON object" in refused(body)


def test_a_body_over_the_size_limit_is_refused_before_it_is_read() -> None:
    assert "larger than" in refused(b" " * (MAX_BODY_BYTES + 1))


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        ("pull_request", changed(GITHUB_PULL_REQUEST, number="42"), "number must be an integer"),
        ("pull_request", changed(GITHUB_PULL_REQUEST, number=True), "number must be an integer"),
        ("pull_request", changed(GITHUB_PULL_REQUEST, number=0), "number must be a positive"),
        ("push", changed(GITHUB_PUSH, deleted="false"), "deleted must be true or false"),
        ("push", changed(GITHUB_PUSH, after="HEAD"), "after must be a full commit sha"),
        ("push", changed(GITHUB_PUSH, ref=["refs/heads/main"]), "ref must be a string"),
        ("push", changed(GITHUB_PUSH, repository="acme/shop"), "repository must be an object"),
        ("push", changed(GITHUB_PUSH, head_commit__message=7), "head_commit.message must be"),
        ("push", changed(GITHUB_PUSH, ref="refs/heads/a\nb"), "ref must be 1 to 1000 printable"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_naming_the_field(
    event: str, payload: dict[str, Any], field: str
) -> None:
    assert field in refused(encoded(payload), github_headers(event))


@pytest.mark.parametrize(
    "path",
    ["ref", "after", "pusher", "repository", "repository__clone_url", "head_commit__author"],
)
def test_a_missing_required_field_is_refused(path: str) -> None:
    message = refused(encoded(changed(GITHUB_PUSH, **{path: DELETE})))

    assert f"{path.replace('__', '.')} is missing" in message


@pytest.mark.parametrize("delivery", ["", "x" * 201, "naïve-id", "id\x00with-nul"])
def test_a_delivery_id_that_is_empty_too_long_or_not_printable_ascii_is_refused(
    delivery: str,
) -> None:
    assert "delivery id" in refused(encoded(GITHUB_PUSH), github_headers("push", delivery))


def test_a_delivery_without_an_id_is_refused() -> None:
    headers = {"X-Gitlab-Event": "Push Hook"}
    with pytest.raises(InvalidArgument, match="no delivery id header"):
        parse(Provider.GITLAB, headers, encoded(GITLAB_PUSH))


def test_polling_is_not_a_webhook_to_parse() -> None:
    with pytest.raises(InvalidArgument, match="not a webhook provider"):
        parse(Provider.POLL, PUSH_HEADERS, encoded(GITHUB_PUSH))


# The property: real payloads with any part replaced by any JSON, and raw noise.

DELIVERIES: list[tuple[Provider, dict[str, str], dict[str, Any]]] = [
    (Provider.GITHUB, github_headers("push"), GITHUB_PUSH),
    (Provider.GITHUB, github_headers("pull_request"), GITHUB_PULL_REQUEST),
    (Provider.GITHUB, github_headers("check_suite"), GITHUB_CHECK_SUITE),
    (Provider.GITHUB, github_headers("status"), GITHUB_STATUS),
    (Provider.GITLAB, gitlab_headers("Push Hook"), GITLAB_PUSH),
    (Provider.GITLAB, gitlab_headers("Merge Request Hook"), GITLAB_MERGE_REQUEST),
    (Provider.GITLAB, gitlab_headers("Pipeline Hook"), GITLAB_PIPELINE),
    (Provider.GITEA, gitea_headers("push"), GITEA_PUSH),
    (Provider.GITEA, gitea_headers("pull_request"), GITEA_PULL_REQUEST),
    (Provider.GITEA, gitea_headers("status"), GITEA_STATUS),
]

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | st.sampled_from(["refs/heads/main", "a" * 40, "completed", "opened", "update"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def paths(value: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every path to a field of nested objects (not into arrays)."""
    found: list[tuple[str, ...]] = []
    if isinstance(value, dict):
        for name, child in value.items():
            found.append((*prefix, name))
            found.extend(paths(child, (*prefix, name)))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Provider, dict[str, str], bytes]:
    """A real delivery with one field replaced by any JSON value, or removed."""
    provider, headers, payload = draw(st.sampled_from(DELIVERIES))
    path = draw(st.sampled_from(paths(payload)))
    value = draw(JSON_VALUES | st.just(DELETE))
    return provider, headers, encoded(changed(payload, **{"__".join(path): value}))


@st.composite
def noise(draw: st.DrawFn) -> tuple[Provider, dict[str, str], bytes]:
    """Any JSON value or any bytes, sent as any event of any host."""
    provider, headers, _ = draw(st.sampled_from(DELIVERIES))
    body = draw(st.binary(max_size=200) | JSON_VALUES.map(encoded))
    return provider, headers, body


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(delivery=mutated() | noise())
def test_parsing_anything_gives_a_delivery_or_invalid_argument(
    delivery: tuple[Provider, dict[str, str], bytes],
) -> None:
    provider, headers, body = delivery
    try:
        result = parse(provider, headers, body)
    except InvalidArgument:
        return
    assert isinstance(result, Delivery)
    assert len(result.commit_message) <= 2000
    assert len(result.commit_author) <= 200 and len(result.pusher) <= 200
