"""The gRPC entry point refuses exactly what the policy refuses: every role, every action,
on the key's own app and on another, through real gRPC.

Each action is asked by one RPC that stands for it. A refused call ends PERMISSION_DENIED;
an allowed one may still fail for its own reasons (a promotion already settled cannot be
cancelled), but never with PERMISSION_DENIED. ``administer`` is the fail-closed answer for
a method missing from the method table: the last test proves no method of our services
falls back to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest

from ledger.domain.key import Role
from ledger.policy import Action
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.grpc.methods import KEYS, LEDGER, METHODS
from server.infra.settings import Settings
from tests.integration.server.helpers import build, create_app, promote
from tests.support.auth import channel_to, create_key
from tests.support.ledgerd import InProcessLedgerd
from tests.support.policy_matrix import OTHER, OWN, allowed, case_id, cases

_unique = itertools.count()


@dataclass(frozen=True)
class World:
    """Two apps, each with a release made active by a promotion, and a key of each role."""

    address: str
    tokens: dict[Role, str]
    releases: dict[str, str]
    promotions: dict[str, str]


Call = Callable[[LedgerStub, KeysStub, World, str], object]


def _build(ledger: LedgerStub, app: str) -> object:
    metadata = pb.BuildMetadata(app=app, image=f"{app}:{next(_unique)}")
    return ledger.CreateBuild(iter([pb.CreateBuildRequest(metadata=metadata)]))


CALLS: dict[Action, Call] = {
    Action.READ: lambda ledger, keys, world, app: ledger.GetApp(pb.GetAppRequest(name=app)),
    Action.READ_LOG: lambda ledger, keys, world, app: ledger.ListEvents(
        pb.ListEventsRequest(app=app)
    ),
    Action.REVEAL_ENV: lambda ledger, keys, world, app: ledger.GetEnv(
        pb.GetEnvRequest(app=app, reveal=True)
    ),
    Action.CREATE_APP: lambda ledger, keys, world, app: ledger.CreateApp(
        pb.CreateAppRequest(name=f"made-{next(_unique)}")
    ),
    Action.CONFIGURE_APP: lambda ledger, keys, world, app: ledger.UpdateApp(
        pb.UpdateAppRequest(name=app, deadline_seconds=300)
    ),
    Action.BUILD: lambda ledger, keys, world, app: _build(ledger, app),
    Action.PROMOTE: lambda ledger, keys, world, app: ledger.PromoteRelease(
        pb.PromoteReleaseRequest(app=app, release_id=world.releases[app], queue=True)
    ),
    Action.ROLLBACK: lambda ledger, keys, world, app: ledger.RollbackRelease(
        pb.RollbackReleaseRequest(app=app, release_id=world.releases[app], queue=True)
    ),
    Action.CANCEL_PROMOTION: lambda ledger, keys, world, app: ledger.CancelPromotion(
        pb.CancelPromotionRequest(app=app, id=world.promotions[app])
    ),
    Action.CHANGE_ENV: lambda ledger, keys, world, app: ledger.UpdateEnv(
        pb.UpdateEnvRequest(app=app, set={"COLOUR": f"c{next(_unique)}"})
    ),
    Action.AUDIT: lambda ledger, keys, world, app: ledger.GetCheckpoint(pb.GetCheckpointRequest()),
    Action.MANAGE_KEYS: lambda ledger, keys, world, app: keys.ListKeys(pb.ListKeysRequest()),
    Action.LIST_APPS: lambda ledger, keys, world, app: ledger.ListApps(pb.ListAppsRequest()),
    Action.READ_RACK: lambda ledger, keys, world, app: ledger.ListRackReleases(
        pb.ListRackReleasesRequest()
    ),
    Action.WHO_AM_I: lambda ledger, keys, world, app: keys.WhoAmI(pb.WhoAmIRequest()),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("matrix") / "ledger"
    settings = Settings(data_dir=data_dir, listen="127.0.0.1:0", console_listen="")
    with InProcessLedgerd(settings) as server, server.channel() as admin:
        ledger = LedgerStub(admin)
        releases, promotions = {}, {}
        for app in (OWN, OTHER):
            create_app(ledger, app)
            releases[app] = build(ledger, app, f"{app}:1").release_id
            promotions[app] = promote(ledger, app, releases[app]).id
        tokens = {
            Role.ADMIN: server.token,
            Role.DEPLOYER: create_key(admin, "ci", "deployer", OWN)[1],
            Role.AUDITOR: create_key(admin, "audit", "auditor")[1],
            Role.READER: create_key(admin, "dash", "reader", OWN)[1],
        }
        yield World(server.address, tokens, releases, promotions)


@pytest.mark.parametrize(("action", "role", "app"), cases(CALLS), ids=case_id)
def test_an_rpc_is_refused_exactly_when_the_policy_refuses_its_action(
    world: World, action: Action, role: Role, app: str
) -> None:
    with channel_to(world.address, world.tokens[role]) as channel:
        try:
            CALLS[action](LedgerStub(channel), KeysStub(channel), world, app)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()

    if allowed(action, role, app):
        assert code != grpc.StatusCode.PERMISSION_DENIED
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED


def test_every_action_but_administer_has_an_rpc_that_stands_for_it() -> None:
    assert set(CALLS) == set(Action) - {Action.ADMINISTER}


def test_every_method_of_our_services_is_in_the_method_table() -> None:
    services = pb.DESCRIPTOR.services_by_name
    methods = {LEDGER + m.name for m in services["Ledger"].methods} | {
        KEYS + m.name for m in services["Keys"].methods
    }
    assert methods == set(METHODS)
