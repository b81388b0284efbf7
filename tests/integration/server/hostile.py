"""Hostile input for the ledger's RPCs: hypothesis strategies, and the checks every answer
to such a request must pass (used by ``test_hostile_*.py``).

A hostile request is random or malformed on purpose: oversized, unicode and control-char
strings for names and ids, maps with huge keys and values or thousands of entries,
negative and huge int64s, forged page tokens, ids that exist but belong to another app,
workflow settings no workflow may have (repositories carrying credentials, bad branches,
promote commands without a service), and keys whose role or apps do not allow the call.
Whatever arrives, the server must either answer (the request happened to be valid) or
refuse it with a clear status code and a short one-line message that echoes no secret; a
refusal appends nothing; and the server keeps serving.
"""

from __future__ import annotations

import base64
import io
import json
import operator
import os
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ledger.ids import BUILD, JOB, PROMOTION, RELEASE, new_id
from ledger.keys import KEY_KIND
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.integration.server.helpers import build, create_app, promote
from tests.support.auth import bearer, create_key
from tests.support.ledgerd import InProcessLedgerd

Code = grpc.StatusCode
REFUSALS = frozenset(
    {
        Code.INVALID_ARGUMENT,
        Code.NOT_FOUND,
        Code.FAILED_PRECONDITION,
        Code.ABORTED,
        Code.ALREADY_EXISTS,
        Code.OUT_OF_RANGE,
        Code.PERMISSION_DENIED,
        Code.RESOURCE_EXHAUSTED,
    }
)
"""The codes a hostile request may be refused with: never INTERNAL or UNKNOWN."""

MAX_MESSAGE = 500
CALL_TIMEOUT = 20.0
SETTLE_TIMEOUT = 15.0

HOSTILE = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Hypothesis settings of every hostile-input property: enough examples to find the
usual suspects, few enough that one RPC's property runs in about a second
(``HOSTILE_EXAMPLES=500`` searches deeper)."""

ADMIN = "admin"
DEPLOYER = "deployer"  # a deployer key for the app "beta" only
READER = "reader"  # a reader key for the app "alpha" only
CALLERS = (ADMIN, DEPLOYER, READER)

LEDGER_SERVICE = pb.DESCRIPTOR.services_by_name["Ledger"]
KEYS_SERVICE = pb.DESCRIPTOR.services_by_name["Keys"]
KEYS_METHODS = frozenset(method.name for method in KEYS_SERVICE.methods)
REVEALING = frozenset({"GetEnv", "GetRelease"})
"""The only RPCs whose answers may hold env values (to keys that may see them)."""
REPOSITORY = "file:///nonexistent/repo.git"
"""The seeded workflows' repository: nothing is there, so every job fails at its fetch,
at once (and ``RunWorkflow`` without a commit cannot read the branch's head)."""


def unary_methods() -> set[str]:
    """Every unary RPC of both services, from the service descriptors."""
    return {
        method.name
        for service in (LEDGER_SERVICE, KEYS_SERVICE)
        for method in service.methods
        if not method.client_streaming and not method.server_streaming
    }


def streaming_methods() -> set[str]:
    return {
        method.name
        for service in (LEDGER_SERVICE, KEYS_SERVICE)
        for method in service.methods
        if method.client_streaming or method.server_streaming
    }


# --- the seeded ledger ---


@dataclass
class Seed:
    """What the module's ledger holds before the hostile requests start.

    Two apps, ``alpha`` and ``beta``, each with builds, releases, a promotion and an env
    holding a secret value; a failed build from source in ``alpha`` (it has a log); keys
    that are not the admin's; workflows of one app and of both (webhook secret, repository
    credentials and review env values all secret), with failed jobs, and workflows that
    may be deleted; and a genuine page token of each listing (of the request
    :func:`seed_ledger` lists it with).
    """

    builds: dict[str, list[str]]
    releases: dict[str, list[str]]
    promotions: dict[str, list[str]]
    source_build: str
    secrets: set[str]
    page_tokens: dict[str, str]  # a genuine next_page_token of each listing, by RPC
    revocable_key_ids: list[str]
    admin_key_id: str
    workflows: list[str] = field(default_factory=list)  # live ones (never deleted)
    deletable_workflows: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)
    caller_tokens: dict[str, str] = field(default_factory=dict)  # by caller, but the admin

    def ids(self, kind: str) -> list[str]:
        """Every seeded id of ``kind`` (both apps)."""
        table = {BUILD: self.builds, RELEASE: self.releases, PROMOTION: self.promotions}[kind]
        return [public_id for ids in table.values() for public_id in ids]


# --- strategies: the building blocks ---

INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)

HOSTILE_STRINGS = (
    "",
    " ",
    "alpha ",
    " alpha",
    "ALPHA",
    "alpha\n",
    "alpha\x00",
    "alpha\r\nX-Injected: 1",
    "../beta",
    "alpha/../../etc/passwd",
    "a" * 31,
    "1alpha",
    "-",
    "\u202eahpla",
    "al\u200bpha",
    "\uff41\uff4c\uff50\uff48\uff41",  # fullwidth "alpha"
    "' OR 1=1 --",
    "%s%s%s%n",
    "{}",
    "null",
    "\ud7ff\ue000\uffff",
    "B" + "A" * 10,
    "R" + "A" * 10,
    "P" + "A" * 10,
    "K" + "A" * 10,
    "R" + "0" * 10,
    "r" + "a" * 10,
)
OVERSIZED_PIECES = ("x", "é", "🙂", "\n", "A-", "\x00", "\x1b[2J")
OVERSIZED_LENGTHS = (1_001, 10_000, 200_000, 1_100_000)


def oversized_text() -> SearchStrategy[str]:
    """Strings of 1 KB to 4.4 MB (beyond the message size limit for the widest pieces)."""
    return st.builds(
        operator.mul, st.sampled_from(OVERSIZED_PIECES), st.sampled_from(OVERSIZED_LENGTHS)
    )


def junk_text() -> SearchStrategy[str]:
    """Random unicode, control characters, known-nasty strings and oversized ones."""
    return st.one_of(
        st.text(max_size=40),
        st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), min_size=1, max_size=8),
        st.sampled_from(HOSTILE_STRINGS),
        oversized_text(),
    )


def int64s() -> SearchStrategy[int]:
    return st.one_of(
        st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**53 + 1, 10**15, INT64[1], INT64[0]]),
        st.integers(*INT64),
    )


def int32s() -> SearchStrategy[int]:
    return st.one_of(st.sampled_from([0, 1, -1, 500, 501, INT32[1], INT32[0]]), st.integers(*INT32))


def app_names() -> SearchStrategy[str]:
    """The two apps, well-formed names of no app, and junk."""
    return st.one_of(
        st.sampled_from(["alpha", "beta"]),
        st.sampled_from(["ghost", "a", "z" * 30, "alpha-2"]),
        junk_text(),
    )


def optional_app_names() -> SearchStrategy[str]:
    return st.one_of(st.just(""), app_names())


def ids(seed: Seed, kind: str) -> SearchStrategy[str]:
    """Ids of ``kind`` of either app, ids of other kinds, well-formed ids of nothing,
    near misses and junk."""
    own = seed.ids(kind)
    others = [
        public_id
        for other in (BUILD, RELEASE, PROMOTION)
        if other != kind
        for public_id in seed.ids(other)
    ]
    near_misses = [public_id.lower() for public_id in own] + [public_id + "X" for public_id in own]
    return st.one_of(
        st.sampled_from(own),
        st.sampled_from(others),
        st.builds(new_id, st.just(kind)),
        st.sampled_from(near_misses),
        junk_text(),
    )


def optional_ids(seed: Seed, kind: str) -> SearchStrategy[str]:
    return st.one_of(st.just(""), ids(seed, kind))


def request_ids() -> SearchStrategy[str]:
    """Empty (no idempotency), well-formed fresh ones, and junk."""
    return st.one_of(
        st.just(""), st.uuids().map(str), st.sampled_from(["x" * 129, "a b", "é"]), junk_text()
    )


def descriptions() -> SearchStrategy[str]:
    return st.one_of(st.just(""), st.text(max_size=20), junk_text())


def json_values() -> SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**30, 0, -1]),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _token_of(body: Any) -> str:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def with_cursor(token: str, cursor: Any) -> str:
    """A genuine page token whose cursor is replaced (its scope still matches)."""
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return _token_of({**body, "c": cursor})


def _raw_token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def page_tokens(seed: Seed) -> SearchStrategy[str]:
    """No token, genuine tokens of other listings, forged and tampered ones, and junk."""
    genuine = sorted(seed.page_tokens.values())
    return st.one_of(
        st.just(""),
        st.sampled_from(genuine),
        st.builds(_token_of, json_values()),
        st.builds(_token_of, st.fixed_dictionaries({"c": json_values(), "s": st.text()})),
        st.builds(with_cursor, st.sampled_from(genuine), cursors()),
        st.builds(_raw_token, st.sampled_from([b"[" * 768, b"{" * 700, b"\xff\xfe", b"1e999"])),
        st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=",
            max_size=60,
        ),
        junk_text(),
    )


EDGE_CURSORS = (0, -1, 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30, 1.5, "", "zzz", None)


def cursors() -> SearchStrategy[Any]:
    """What a tampered token may carry as its cursor: numbers at and past int64's ends,
    names, and any other JSON."""
    return st.one_of(st.sampled_from(EDGE_CURSORS), st.integers(), json_values())


def continuations(token: str) -> SearchStrategy[str]:
    """Tokens for the very request ``token`` continues: itself, with another cursor, cut
    short, or padded."""
    return st.one_of(
        st.just(token),
        st.builds(with_cursor, st.just(token), st.sampled_from(EDGE_CURSORS)),
        st.builds(with_cursor, st.just(token), cursors()),
        st.integers(1, len(token) - 1).map(lambda cut: token[:cut]),
        st.sampled_from([token + "=", token + "==", "=" + token, token + token]),
    )


def paging_on(
    seed: Seed, name: str, request: Callable[..., Message], **fields: Any
) -> SearchStrategy[Message]:
    """Requests of the listing ``name`` continuing its seeded page (same filters as the
    request that gave the token: its scope matches), with tampered tokens and any size."""
    return st.builds(
        request, page_size=int32s(), page_token=continuations(seed.page_tokens[name]), **fields
    )


def timestamps() -> SearchStrategy[Timestamp]:
    """Sensible moments, and seconds and nanos far outside what a timestamp may hold."""
    return st.one_of(
        st.builds(Timestamp, seconds=st.integers(0, 4_000_000_000), nanos=st.just(0)),
        st.builds(Timestamp, seconds=int64s(), nanos=int32s()),
    )


def env_keys() -> SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["SECRET_TOKEN", "DATABASE_URL", "PATH", "_", "A1"]),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
        st.sampled_from(["1A", "A-B", "A B", "A=B", "A\nB", "K" * 257, "É"]),
        junk_text(),
    )


def env_values() -> SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=30), st.sampled_from(["a\x00b", "v" * 70_000, "line\nbreak"]), junk_text()
    )


def _many(count: int) -> dict[str, str]:
    return {f"KEY_{index}": f"value-{index}" for index in range(count)}


def env_maps() -> SearchStrategy[dict[str, str]]:
    """Small random maps, thousands of entries, a huge key, a huge value."""
    return st.one_of(
        st.dictionaries(env_keys(), env_values(), max_size=4),
        st.builds(_many, st.sampled_from([1_001, 5_000])),
        st.builds(lambda key: {key: "v"}, oversized_text()),
        st.builds(lambda value: {"HUGE": value}, oversized_text()),
    )


def key_lists(max_many: int = 5_000) -> SearchStrategy[list[str]]:
    return st.one_of(
        st.lists(env_keys(), max_size=4),
        st.builds(
            lambda count: [f"KEY_{index}" for index in range(count)],
            st.sampled_from([1_001, max_many]),
        ),
    )


def app_lists() -> SearchStrategy[list[str]]:
    return st.one_of(
        st.lists(app_names(), max_size=4),
        st.builds(
            lambda count: [f"app-{index}" for index in range(count)], st.sampled_from([101, 2_000])
        ),
    )


def event_types() -> SearchStrategy[list[str]]:
    return st.one_of(
        st.lists(st.sampled_from(["EnvChanged", "AppCreated", "BuildSucceeded", "Nope"])),
        st.lists(junk_text(), max_size=3),
        st.builds(
            lambda count: [f"Type{index}" for index in range(count)], st.sampled_from([51, 1_000])
        ),
    )


def key_ids(seed: Seed) -> SearchStrategy[str]:
    """Ids of keys that may be revoked (never the admin key the tests sign in with),
    well-formed ids of no key, ids of other kinds, and junk."""
    return st.one_of(
        st.sampled_from(seed.revocable_key_ids),
        st.builds(new_id, st.just(KEY_KIND)),
        st.sampled_from(seed.ids(BUILD)),
        junk_text(),
    )


def roles() -> SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["admin", "deployer", "auditor", "reader", "ADMIN", "root", ""]),
        junk_text(),
    )


def workflow_names(seed: Seed) -> SearchStrategy[str]:
    """The seeded workflows, well-formed names of none, near misses and junk."""
    return st.one_of(
        st.sampled_from(seed.workflows + seed.deletable_workflows),
        st.sampled_from(["ghost-ci", "a", "z" * 40, "new"]),
        st.sampled_from(["z" * 41, "Alpha-ci", "alpha_ci", "1ci", "-ci", "alpha-ci\n"]),
        junk_text(),
    )


def optional_workflow_names(seed: Seed) -> SearchStrategy[str]:
    return st.one_of(st.just(""), workflow_names(seed))


def deletable_workflow_names(seed: Seed) -> SearchStrategy[str]:
    """Workflows that may be deleted (never those the other RPCs aim at), well-formed
    names of none, and junk."""
    return st.one_of(
        st.sampled_from(seed.deletable_workflows),
        st.sampled_from(["ghost-ci", "z" * 40]),
        junk_text(),
    )


def job_ids(seed: Seed) -> SearchStrategy[str]:
    """The seeded jobs, well-formed ids of none, ids of other kinds, near misses and junk."""
    near_misses = [job_id.lower() for job_id in seed.jobs] + [job_id + "X" for job_id in seed.jobs]
    return st.one_of(
        st.sampled_from(seed.jobs),
        st.builds(new_id, st.just(JOB)),
        st.sampled_from(seed.ids(BUILD) + seed.ids(RELEASE)),
        st.sampled_from(near_misses),
        junk_text(),
    )


def repositories() -> SearchStrategy[str]:
    """Repositories where nothing is (so no job fetches anything), ones no workflow may
    have (credentials in the URL, options, other transports), and junk."""
    return st.one_of(
        st.sampled_from([REPOSITORY, "/nonexistent/repo", "file:///nonexistent/other.git"]),
        st.sampled_from(
            [
                "https://user:hunter2-s3cret@git.invalid/acme/shop.git",
                "-uhack",
                "ext::sh -c true",
                "ftp://git.invalid/x.git",
                "file:///a b",
                "file:///x\x00y",
                "git@",
                "/",
                "file://" + "x" * 600,
            ]
        ),
        junk_text(),
    )


def branches() -> SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["", "main", "feature/x", "v1.2"]),
        st.sampled_from(["-b", "/main", "a..b", "main\n", "a b", "b" * 201]),
        junk_text(),
    )


def commits() -> SearchStrategy[str]:
    """No commit (the branch's head, unreadable), full shas, near misses and junk."""
    return st.one_of(
        st.just(""),
        st.text(alphabet="0123456789abcdef", min_size=40, max_size=40),
        st.sampled_from(["A" * 40, "0" * 39, "0" * 41, "g" * 40, "0" * 39 + "\n"]),
        junk_text(),
    )


def hook_lists() -> SearchStrategy[list[str]]:
    """Promote commands: well-formed, without a service or a command, oversized, too many."""
    hooks = st.one_of(
        st.sampled_from(["web: rake db:migrate", "worker: ./cleanup --all"]),
        st.sampled_from(["web:", ": x", "no colon", "WEB: x", "web: a\x00b", "we b: x"]),
        st.builds(lambda size: "web: " + "x" * size, st.sampled_from([1_001, 100_000])),
        junk_text(),
    )
    return st.one_of(
        st.lists(hooks, max_size=3), st.just([f"web: step {index}" for index in range(11)])
    )


def secret_text() -> SearchStrategy[str]:
    """Values that must never be shown: recognisable (at least 8 characters), printable."""
    return st.builds(
        "s3cret-{}".format, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=4)
    )


def review_env_maps() -> SearchStrategy[dict[str, str]]:
    """Review apps' env: secret values under any key, values no env may hold, too many."""
    values = st.one_of(secret_text(), st.sampled_from(["a\x00b", "v" * 70_000]))
    return st.one_of(
        st.dictionaries(env_keys(), values, max_size=3),
        st.builds(lambda count: {f"KEY_{n}": f"s3cret-{n:04}" for n in range(count)}, st.just(201)),
    )


def credentials() -> SearchStrategy[str]:
    """None, secret tokens, and credentials no repository may have (unprintable, huge)."""
    return st.one_of(
        st.just(""),
        secret_text(),
        st.builds("user:{}".format, secret_text()),
        st.sampled_from(["tok\nen-s3cret", "tok\x00en-s3cret", "\x1b[2Jtoken-s3cret"]),
        st.builds(lambda size: "t" * size, st.sampled_from([1_001, 200_000])),
    )


def poll_seconds() -> SearchStrategy[int]:
    return st.one_of(st.sampled_from([0, -1, 9, 10, 86_400, 86_401]), int64s())


def workflow_settings() -> SearchStrategy[pb.WorkflowSettings]:
    return st.builds(
        pb.WorkflowSettings,
        repository=repositories(),
        branch=branches(),
        apps=st.one_of(st.sampled_from([["alpha"], ["beta"], ["alpha", "beta"]]), app_lists()),
        promote=st.one_of(st.sampled_from(["", "auto", "manual", "AUTO", "never"]), junk_text()),
        before_promote=hook_lists(),
        after_promote=hook_lists(),
        review_apps=st.booleans(),
        review_env=review_env_maps(),
        wait_for_ci=st.booleans(),
        poll_seconds=poll_seconds(),
        allow_forks=st.booleans(),
    )


SETTINGS_FIELDS = sorted(pb.WorkflowSettings.DESCRIPTOR.fields_by_name)


def update_fields() -> SearchStrategy[list[str]]:
    """Settings fields to change: real ones, unknown ones (``name`` is no setting), junk."""
    return st.lists(
        st.one_of(
            st.sampled_from(SETTINGS_FIELDS),
            st.sampled_from(["name", "secret", "credentials", "Apps", ""]),
            junk_text(),
        ),
        max_size=4,
    )


def workflow_runs(seed: Seed) -> SearchStrategy[pb.RunWorkflowRequest]:
    return st.builds(
        pb.RunWorkflowRequest,
        name=workflow_names(seed),
        branch=branches(),
        commit=commits(),
        request_id=request_ids(),
    )


# --- strategies: one per RPC ---


@dataclass(frozen=True)
class Rpc:
    """How to draw hostile requests of one RPC, and whether it may append to the log."""

    requests: SearchStrategy[Message]
    mutating: bool = False
    callers: tuple[str, ...] = CALLERS


def unary_rpcs(seed: Seed) -> dict[str, Rpc]:
    """A strategy for every unary RPC of the Ledger and Keys services."""
    b, r, p = BUILD, RELEASE, PROMOTION
    tokens = page_tokens(seed)
    names = workflow_names(seed)
    return {
        # Apps.
        "CreateApp": Rpc(
            st.builds(
                pb.CreateAppRequest,
                name=app_names(),
                request_id=request_ids(),
                deadline_seconds=int64s(),
            ),
            mutating=True,
        ),
        "GetApp": Rpc(st.builds(pb.GetAppRequest, name=app_names())),
        "ListApps": Rpc(
            st.builds(pb.ListAppsRequest, page_size=int32s(), page_token=tokens)
            | paging_on(seed, "ListApps", pb.ListAppsRequest)
        ),
        "UpdateApp": Rpc(
            st.builds(
                pb.UpdateAppRequest,
                name=app_names(),
                request_id=request_ids(),
                deadline_seconds=int64s(),
            ),
            mutating=True,
        ),
        "ListTasks": Rpc(st.builds(pb.ListTasksRequest, app=app_names())),
        "GetDeployMetrics": Rpc(
            st.builds(
                pb.GetDeployMetricsRequest,
                app=optional_app_names(),
                period=st.one_of(st.sampled_from(["", "day", "week", "all"]), junk_text()),
                days=int32s(),
                until=st.none() | timestamps(),
            )
        ),
        # Builds.
        "GetBuild": Rpc(st.builds(pb.GetBuildRequest, app=optional_app_names(), id=ids(seed, b))),
        "ListBuilds": Rpc(
            st.builds(pb.ListBuildsRequest, app=app_names(), page_size=int32s(), page_token=tokens)
            | paging_on(seed, "ListBuilds", pb.ListBuildsRequest, app=st.just("beta"))
        ),
        # Releases.
        "GetRelease": Rpc(
            st.builds(pb.GetReleaseRequest, app=optional_app_names(), id=ids(seed, r))
        ),
        "ListReleases": Rpc(
            st.builds(
                pb.ListReleasesRequest, app=app_names(), page_size=int32s(), page_token=tokens
            )
            | paging_on(seed, "ListReleases", pb.ListReleasesRequest, app=st.just("alpha"))
        ),
        "DiffReleases": Rpc(
            st.builds(
                pb.DiffReleasesRequest,
                app=optional_app_names(),
                from_release_id=ids(seed, r),
                to_release_id=ids(seed, r),
            )
        ),
        "GetActiveRelease": Rpc(
            st.builds(
                pb.GetActiveReleaseRequest,
                app=app_names(),
                as_of_position=int64s(),
                as_of_time=st.none() | timestamps(),
            )
        ),
        "GetAppAt": Rpc(
            st.builds(
                pb.GetAppAtRequest,
                name=app_names(),
                as_of_position=int64s(),
                as_of_time=st.none() | timestamps(),
            )
        ),
        # Promotions.
        "PromoteRelease": Rpc(
            st.builds(
                pb.PromoteReleaseRequest,
                app=app_names(),
                release_id=optional_ids(seed, r),
                request_id=request_ids(),
                description=descriptions(),
                deadline_seconds=int64s(),
                queue=st.booleans(),
            ),
            mutating=True,
        ),
        "RollbackRelease": Rpc(
            st.builds(
                pb.RollbackReleaseRequest,
                app=app_names(),
                release_id=optional_ids(seed, r),
                request_id=request_ids(),
                description=descriptions(),
                deadline_seconds=int64s(),
                queue=st.booleans(),
            ),
            mutating=True,
        ),
        "GetPromotion": Rpc(
            st.builds(pb.GetPromotionRequest, app=optional_app_names(), id=ids(seed, p))
        ),
        "ListPromotions": Rpc(
            st.builds(
                pb.ListPromotionsRequest, app=app_names(), page_size=int32s(), page_token=tokens
            )
            | paging_on(seed, "ListPromotions", pb.ListPromotionsRequest, app=st.just("alpha"))
        ),
        "CancelPromotion": Rpc(
            st.builds(
                pb.CancelPromotionRequest,
                app=app_names(),
                id=optional_ids(seed, p),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        # Environment.
        "GetEnv": Rpc(st.builds(pb.GetEnvRequest, app=app_names())),
        "UpdateEnv": Rpc(
            st.builds(
                _update_env,
                app=app_names(),
                set=env_maps(),
                unset=key_lists(),
                replace=st.booleans(),
                expected_version=st.none() | int64s(),
                promote=st.booleans(),
                base_release_id=optional_ids(seed, r),
                request_id=request_ids(),
                description=descriptions(),
            ),
            mutating=True,
        ),
        # The log.
        "ListEvents": Rpc(
            st.builds(
                pb.ListEventsRequest,
                app=optional_app_names(),
                types=event_types(),
                since=st.none() | timestamps(),
                until=st.none() | timestamps(),
                after_position=int64s(),
                page_size=int32s(),
                page_token=tokens,
                newest_first=st.booleans(),
            )
            | paging_on(seed, "ListEvents", pb.ListEventsRequest)
        ),
        "ListRackReleases": Rpc(st.just(pb.ListRackReleasesRequest())),
        # Audit.
        "GetCheckpoint": Rpc(st.just(pb.GetCheckpointRequest())),
        "GetInclusionProof": Rpc(
            st.builds(pb.GetInclusionProofRequest, position=int64s(), tree_size=int64s())
        ),
        "GetConsistencyProof": Rpc(
            st.builds(pb.GetConsistencyProofRequest, old_size=int64s(), new_size=int64s())
        ),
        "ExportEvents": Rpc(
            st.builds(
                pb.ExportEventsRequest,
                from_position=int64s(),
                tree_size=int64s(),
                with_proofs=st.booleans(),
                page_size=int32s(),
                page_token=tokens,
            )
            | paging_on(seed, "ExportEvents", pb.ExportEventsRequest)
        ),
        # Keys.
        "CreateKey": Rpc(
            st.builds(
                pb.CreateKeyRequest,
                name=st.one_of(st.just("ci"), junk_text()),
                role=roles(),
                apps=app_lists(),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "ListKeys": Rpc(
            st.builds(
                pb.ListKeysRequest,
                page_size=int32s(),
                page_token=tokens,
                include_revoked=st.booleans(),
            )
            | paging_on(seed, "ListKeys", pb.ListKeysRequest)
        ),
        "RevokeKey": Rpc(
            st.builds(pb.RevokeKeyRequest, id=key_ids(seed), request_id=request_ids()),
            mutating=True,
        ),
        "WhoAmI": Rpc(st.just(pb.WhoAmIRequest())),
        # Workflows and their jobs.
        "CreateWorkflow": Rpc(
            st.builds(
                pb.CreateWorkflowRequest,
                name=st.one_of(st.from_regex(r"[a-z][a-z0-9-]{0,39}", fullmatch=True), names),
                settings=workflow_settings(),
                credentials=credentials(),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "GetWorkflow": Rpc(st.builds(pb.GetWorkflowRequest, name=names)),
        "ListWorkflows": Rpc(
            st.builds(pb.ListWorkflowsRequest, page_size=int32s(), page_token=tokens)
            | paging_on(seed, "ListWorkflows", pb.ListWorkflowsRequest)
        ),
        "UpdateWorkflow": Rpc(
            st.builds(
                pb.UpdateWorkflowRequest,
                name=names,
                settings=workflow_settings(),
                update_fields=update_fields(),
                change_credentials=st.booleans(),
                credentials=credentials(),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "DeleteWorkflow": Rpc(
            st.builds(
                pb.DeleteWorkflowRequest,
                name=deletable_workflow_names(seed),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "RotateWorkflowSecret": Rpc(
            st.builds(pb.RotateWorkflowSecretRequest, name=names, request_id=request_ids()),
            mutating=True,
        ),
        "ResumeWorkflow": Rpc(
            st.builds(
                pb.ResumeWorkflowRequest,
                name=names,
                app=optional_app_names(),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "RunWorkflow": Rpc(workflow_runs(seed), mutating=True),
        "GetJob": Rpc(st.builds(pb.GetJobRequest, id=job_ids(seed))),
        "ListJobs": Rpc(
            st.builds(
                pb.ListJobsRequest,
                workflow=optional_workflow_names(seed),
                page_size=int32s(),
                page_token=tokens,
            )
            | paging_on(seed, "ListJobs", pb.ListJobsRequest)
        ),
        "RerunJob": Rpc(
            st.builds(pb.RerunJobRequest, id=job_ids(seed), request_id=request_ids()),
            mutating=True,
        ),
        # Notifications.
        "CreateNotificationTarget": Rpc(
            st.builds(
                pb.CreateNotificationTargetRequest,
                url=notification_urls(),
                events=event_patterns(),
                app=optional_app_names(),
                format=st.one_of(st.sampled_from(["", "json", "slack", "xml"]), junk_text()),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "ListNotificationTargets": Rpc(st.just(pb.ListNotificationTargetsRequest())),
        "DeleteNotificationTarget": Rpc(
            st.builds(
                pb.DeleteNotificationTargetRequest,
                id=st.one_of(st.builds(new_id, st.just("N")), junk_text()),
                request_id=request_ids(),
            ),
            mutating=True,
        ),
        "ListDeliveries": Rpc(
            st.builds(
                pb.ListDeliveriesRequest,
                target_id=st.one_of(st.just(""), st.builds(new_id, st.just("N")), junk_text()),
                limit=int32s(),
            )
        ),
    }


def notification_urls() -> SearchStrategy[str]:
    """A receiver that refuses at once (port 9), URLs of other schemes or no host, junk."""
    return st.one_of(
        st.just("http://127.0.0.1:9/hook"),
        st.sampled_from(["", "ftp://example.com/", "http://", "https:///x", "example.com"]),
        junk_text(),
    )


def event_patterns() -> SearchStrategy[list[str]]:
    return st.lists(
        st.one_of(
            st.sampled_from(["*", "app.*", "promotion.succeeded", "build.failed"]),
            st.sampled_from(["promotion", "deploy.*", "*.*", ""]),
            junk_text(),
        ),
        max_size=3,
    )


def _update_env(expected_version: int | None, **fields: Any) -> pb.UpdateEnvRequest:
    request = pb.UpdateEnvRequest(**fields)
    if expected_version is not None:
        request.expected_version = expected_version
    return request


# --- the checks ---


def env_values_in(message: Message) -> list[str]:
    """The secret values a request carries long enough to recognise: env values
    (UpdateEnv's ``set``), a workflow's review env values and repository credentials."""
    if isinstance(message, pb.UpdateEnvRequest):
        values = list(message.set.values())
    elif isinstance(message, pb.CreateWorkflowRequest | pb.UpdateWorkflowRequest):
        repository = message.settings.repository
        userinfo = repository.partition("://")[2].partition("@")[0] if "@" in repository else ""
        values = [*message.settings.review_env.values(), message.credentials, userinfo]
    else:
        return []
    return [value for value in values if len(value) >= 8]


def check_refusal(error: grpc.RpcError, secrets: Iterable[str]) -> None:
    """A refusal is a clear code with a short one-line message and no secret in it.

    One printable line: no line break of any kind and no control character (a terminal
    escape sequence in a message would reach the user's terminal through ledgerctl).
    """
    code, details = error.code(), error.details() or ""
    assert code in REFUSALS, f"{code.name}: {details[:200]!r}"
    assert details.strip(), f"{code.name} without a message"
    assert details.isprintable(), f"message with line breaks or control characters: {details!r}"
    assert len(details) < MAX_MESSAGE, f"message of {len(details)} characters: {details[:200]!r}"
    for secret in secrets:
        assert secret not in details, "the message shows an env value"


class Hostile:
    """Sends hostile requests to the module's ledgerd and checks every answer.

    Signs in as the seeded keys; reads the log's head straight from the event store (the
    cheapest exact answer to "was anything appended?").
    """

    def __init__(self, ledgerd: InProcessLedgerd, channel: grpc.Channel, seed: Seed) -> None:
        self.ledgerd = ledgerd
        self.channel = channel
        self.seed = seed
        self.ledger = LedgerStub(channel)
        self.keys = KeysStub(channel)
        self.secrets: set[str] = set(seed.secrets)
        self.rpcs = unary_rpcs(seed)

    def head(self) -> int:
        return self.ledgerd.container.ledger.head()

    def metadata(self, caller: str) -> tuple[tuple[str, str], ...]:
        """Call metadata signing in as ``caller`` (the channel's default is the admin)."""
        return bearer(self.seed.caller_tokens[caller]) if caller != ADMIN else ()

    def method(self, name: str) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(
            self.keys if name in KEYS_METHODS else self.ledger, name
        )
        return method

    def send(self, name: str, request: Message, rpc: Rpc, caller: str = ADMIN) -> None:
        """Send one hostile request and check the answer, the log and the server."""
        before = self.head()
        try:
            response = self.method(name)(
                request, metadata=self.metadata(caller), timeout=CALL_TIMEOUT
            )
        except grpc.RpcError as error:
            check_refusal(error, self.secrets | set(env_values_in(request)))
            assert self.head() == before, f"{name} was refused but appended to the log"
        else:
            if caller == READER or name not in REVEALING:
                answer = response.SerializeToString()
                for secret in self.seed.secrets:
                    assert secret.encode() not in answer, f"{name} answered with an env value"
            if rpc.mutating:
                self.secrets.update(env_values_in(request))
                self.settle()
            else:
                assert self.head() == before, f"{name} reads, yet appended to the log"
        self.still_serving()

    def still_serving(self) -> None:
        """The server answers a plain read."""
        assert self.ledger.GetApp(pb.GetAppRequest(name="alpha"), timeout=CALL_TIMEOUT).name

    def settle(self) -> None:
        """After a request that was accepted: wait until what it started in the background
        (a promotion, a build from source, a workflow's job) has ended and the log is still."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            head = self.head()
            busy = any(self._in_flight(app) for app in ("alpha", "beta"))
            time.sleep(0.03)
            if not busy and self.head() == head and not self._building() and not self._jobs():
                return
            assert time.monotonic() < deadline, "the ledger did not settle"

    def _in_flight(self, name: str) -> bool:
        app = self.ledger.GetApp(pb.GetAppRequest(name=name), timeout=CALL_TIMEOUT)
        return app.HasField("promotion") or bool(app.queued_promotion_ids)

    def _building(self) -> bool:
        for app in ("alpha", "beta"):
            page = self.ledger.ListBuilds(
                pb.ListBuildsRequest(app=app, page_size=5), timeout=CALL_TIMEOUT
            )
            if any(build.status in ("created", "running") for build in page.builds):
                return True
        return False

    def _jobs(self) -> bool:
        return jobs_in_flight(self.ledger)


JOB_ENDED = frozenset({"succeeded", "failed", "superseded"})


def jobs_in_flight(client: LedgerStub) -> bool:
    """Whether one of the newest jobs has not ended (queued, running, or waiting)."""
    page = client.ListJobs(pb.ListJobsRequest(page_size=20), timeout=CALL_TIMEOUT)
    return any(job.status not in JOB_ENDED for job in page.jobs)


def wait_for_jobs(client: LedgerStub) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while jobs_in_flight(client):
        assert time.monotonic() < deadline, "a seeded job did not end"
        time.sleep(0.02)


# --- seeding ---

WORKFLOW_CREDENTIALS = "ci-bot:glpat-s3cret-5b7e0d"
REVIEW_SECRETS = {"REVIEW_TOKEN": "review-s3cret-a1c9f4"}

ALPHA_SECRETS = {
    "SECRET_TOKEN": "alpha-s3cret-7f3a9c",
    "DATABASE_URL": "postgres://db/alpha-pw-91c2",
}
BETA_SECRETS = {"SECRET_TOKEN": "beta-s3cret-4e8d21"}


def seed_ledger(channel: grpc.Channel) -> Seed:
    """Fill a new ledger with the state hostile requests aim at (see :class:`Seed`)."""
    client, keys = LedgerStub(channel), KeysStub(channel)
    builds: dict[str, list[str]] = {"alpha": [], "beta": []}
    releases: dict[str, list[str]] = {"alpha": [], "beta": []}
    promotions: dict[str, list[str]] = {"alpha": [], "beta": []}
    for app, secrets in (("alpha", ALPHA_SECRETS), ("beta", BETA_SECRETS)):
        create_app(client, app)
        client.UpdateEnv(pb.UpdateEnvRequest(app=app, set=secrets))
        for version in (1, 2):
            made = build(client, app, f"{app}:{version}")
            builds[app].append(made.id)
            releases[app].append(made.release_id)
        promotions[app].append(promote(client, app, releases[app][0]).id)
        changed = client.UpdateEnv(pb.UpdateEnvRequest(app=app, set={"LOG_LEVEL": "debug"}))
        releases[app].append(changed.release.id)
        promotions[app].append(promote(client, app, changed.release.id).id)
    source_build = _failed_source_build(client, "alpha")
    builds["alpha"].append(source_build)

    _, deployer_token = create_key(channel, "beta-ci", "deployer", "beta")
    _, reader_token = create_key(channel, "alpha-viewer", "reader", "alpha")
    victims = [create_key(channel, f"victim-{n}", "deployer", "alpha")[0].id for n in (1, 2)]
    revoked = create_key(channel, "gone", "auditor")[0]
    keys.RevokeKey(pb.RevokeKeyRequest(id=revoked.id))
    admin = keys.WhoAmI(pb.WhoAmIRequest())

    live = {"alpha-ci": ["alpha"], "beta-ci": ["beta"], "both-ci": ["alpha", "beta"]}
    deletable = {f"doomed-{n}": ["alpha"] for n in (1, 2)} | {"doomed-both": ["alpha", "beta"]}
    webhook_secrets = {
        _create_workflow(client, name, apps) for name, apps in (live | deletable).items()
    }
    jobs = [
        client.RunWorkflow(pb.RunWorkflowRequest(name=name, commit=sha)).id
        for name, sha in (("alpha-ci", "a" * 40), ("alpha-ci", "b" * 40), ("both-ci", "c" * 40))
    ]
    wait_for_jobs(client)

    tokens = {
        "ListApps": client.ListApps(pb.ListAppsRequest(page_size=1)),
        "ListReleases": client.ListReleases(pb.ListReleasesRequest(app="alpha", page_size=1)),
        "ListBuilds": client.ListBuilds(pb.ListBuildsRequest(app="beta", page_size=1)),
        "ListPromotions": client.ListPromotions(pb.ListPromotionsRequest(app="alpha", page_size=1)),
        "ListEvents": client.ListEvents(pb.ListEventsRequest(page_size=2)),
        "ListKeys": keys.ListKeys(pb.ListKeysRequest(page_size=1)),
        "ExportEvents": client.ExportEvents(pb.ExportEventsRequest(page_size=2)),
        "ListWorkflows": client.ListWorkflows(pb.ListWorkflowsRequest(page_size=1)),
        "ListJobs": client.ListJobs(pb.ListJobsRequest(page_size=1)),
    }
    page_tokens = {name: page.next_page_token for name, page in tokens.items()}
    assert all(page_tokens.values()), "every seeded listing has a second page"
    return Seed(
        builds=builds,
        releases=releases,
        promotions=promotions,
        source_build=source_build,
        secrets={
            *ALPHA_SECRETS.values(),
            *BETA_SECRETS.values(),
            *REVIEW_SECRETS.values(),
            WORKFLOW_CREDENTIALS,
            *webhook_secrets,
        },
        page_tokens=page_tokens,
        revocable_key_ids=[*victims, revoked.id],
        admin_key_id=admin.id,
        workflows=sorted(live),
        deletable_workflows=sorted(deletable),
        jobs=jobs,
        caller_tokens={DEPLOYER: deployer_token, READER: reader_token},
    )


def _create_workflow(client: LedgerStub, name: str, apps: list[str]) -> str:
    """A workflow of ``apps`` (with credentials and a review env); its webhook secret."""
    settings = pb.WorkflowSettings(
        repository=REPOSITORY,
        apps=apps,
        before_promote=["web: rake db:migrate"],
        review_apps=True,
        review_env=REVIEW_SECRETS,
    )
    request = pb.CreateWorkflowRequest(
        name=name, settings=settings, credentials=WORKFLOW_CREDENTIALS
    )
    secret: str = client.CreateWorkflow(request).secret
    assert secret
    return secret


def source_tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"FROM scratch\n"
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _failed_source_build(client: LedgerStub, app: str) -> str:
    """A build from source, which the record runtime fails (so it has a log)."""
    messages = [
        pb.CreateBuildRequest(metadata=pb.BuildMetadata(app=app)),
        pb.CreateBuildRequest(chunk=source_tarball()),
    ]
    started: pb.Build = client.CreateBuild(iter(messages))
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while client.GetBuild(pb.GetBuildRequest(id=started.id)).status not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "the source build did not end"
        time.sleep(0.02)
    return started.id
