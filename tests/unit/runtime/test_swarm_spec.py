"""The Swarm service spec of a release's service, built without an engine.

What matters before any engine runs it: the update config is always whole (Swarm's
defaults would update every task at once and carry on past failures), the monitor
window covers the whole health check, each task of an HTTP service gets its own port
from its slot, env values reach the container literally, and applying the same release
again gives the same spec (its fingerprint), whatever promotion applies it.
"""

from __future__ import annotations

from ledger.ids import RELEASE, new_id
from ledger.manifest import Health, Manifest, Rollout, Service
from ledger.runtime import ReleaseSpec
from runtime.swarm.ports import BlockAllocator, port_of, port_template
from runtime.swarm.spec import (
    FINGERPRINT,
    MONITOR_MARGIN,
    RETRIES,
    ServiceSpec,
    monitor_seconds,
    seconds,
    service_spec,
)

HEALTH = Health(path="/health", grace=10.0, interval=2.0, timeout=1.0)
WEB = Service(name="web", port=3000, health=HEALTH, scale=3, command="./serve --fast")
WORKER = Service(name="worker", health=Health(grace=4.0), scale=2)


def release(*services: Service, env: dict[str, str] | None = None) -> ReleaseSpec:
    return ReleaseSpec(
        app="shop",
        release_id=new_id(RELEASE),
        version=4,
        build_id="B" + "A" * 10,
        image="shop:1",
        env=env if env is not None else {"VALUE": "v4"},
        manifest=Manifest(services or (WEB,)),
    )


def spec_of(
    target: ReleaseSpec, service: Service = WEB, block: int | None = 213, **kw: object
) -> ServiceSpec:
    options = {"promotion_id": "P" + "A" * 10, "stop_grace": 10.0, "start_interval": True}
    options.update(kw)
    return service_spec(target, service, image="sha256:abc", block=block, **options)  # type: ignore[arg-type]


def test_the_update_config_is_whole_one_task_at_a_time_start_first_paused_on_failure() -> None:
    spec = spec_of(release())

    assert spec.update_config == {
        "Parallelism": 1,
        "Delay": 0,
        "FailureAction": "pause",
        "Monitor": seconds(monitor_seconds(WEB)),
        "MaxFailureRatio": 0,
        "Order": "start-first",
    }


def test_the_monitor_covers_the_start_period_every_retry_and_a_margin() -> None:
    assert monitor_seconds(WEB) == 10.0 + RETRIES * (2.0 + 1.0) + MONITOR_MARGIN
    assert monitor_seconds(WORKER) == 4.0 + MONITOR_MARGIN


def test_an_http_service_is_health_checked_inside_its_container_from_its_own_port() -> None:
    check = spec_of(release()).task_template["ContainerSpec"]["Healthcheck"]

    assert check["Test"][0] == "CMD-SHELL"
    assert 'http://127.0.0.1:"$PORT"/health' in check["Test"][1]
    assert (check["StartPeriod"], check["Interval"], check["Retries"]) == (
        seconds(10.0),
        seconds(2.0),
        RETRIES,
    )
    assert check["StartInterval"] == seconds(0.5)


def test_a_service_without_a_port_has_no_health_check_and_no_port() -> None:
    container = spec_of(release(WORKER), WORKER, block=None).task_template["ContainerSpec"]

    assert container["Healthcheck"] == {"Test": ["NONE"]}
    assert not any(entry.startswith("PORT=") for entry in container["Env"])


def test_each_slot_gets_its_own_port_of_the_spec_s_block() -> None:
    container = spec_of(release(), block=213).task_template["ContainerSpec"]

    assert "PORT=" + port_template(213) in container["Env"]
    assert port_template(213) == "213{{if lt (len .Task.Slot) 2}}0{{end}}{{.Task.Slot}}"
    assert container["Labels"]["ledger.ports"] == "21300"
    assert [port_of(21300, slot) for slot in (1, 2, 12)] == [21301, 21302, 21312]


def test_env_values_reach_the_container_literally_and_port_is_the_runtime_s() -> None:
    target = release(env={"VALUE": "{{.Task.Slot}}", "PORT": "80"})
    env = spec_of(target).task_template["ContainerSpec"]["Env"]

    assert 'VALUE={{"{{"}}.Task.Slot}}' in env
    assert [e for e in env if e.startswith("PORT=")] == ["PORT=" + port_template(213)]


def test_the_same_release_gives_the_same_spec_whatever_the_promotion() -> None:
    target = release()

    first = spec_of(target, promotion_id="P" + "A" * 10)
    again = spec_of(target, promotion_id="P" + "B" * 10)

    assert first.fingerprint == again.fingerprint
    assert first.labels[FINGERPRINT] == first.fingerprint
    assert again.labels["ledger.promotion"] == "P" + "B" * 10
    assert "ledger.promotion" not in again.task_template["ContainerSpec"]["Labels"]
    assert spec_of(target, block=214).fingerprint != first.fingerprint
    assert spec_of(release()).fingerprint != first.fingerprint


def test_the_service_is_app_service_with_scale_replicas_on_host_networking() -> None:
    spec = spec_of(release())

    assert spec.name == "shop-web"
    assert spec.mode == {"replicated": {"Replicas": 3}}
    assert spec.task_template["Networks"] == [{"Target": "host"}]
    assert spec.task_template["ContainerSpec"]["Args"] == ["./serve", "--fast"]
    assert spec.task_template["ContainerSpec"]["Init"] is True


def test_a_block_in_use_is_never_handed_out() -> None:
    allocator = BlockAllocator(range(100, 103))

    with allocator.reserve(lambda: {100, 102}, replicas=2) as block:
        assert block == 101


def test_the_manifest_s_rollout_settings_decide_parallelism_and_order() -> None:
    rolled = Service(
        name="web",
        port=3000,
        health=HEALTH,
        scale=3,
        rollout=Rollout(parallelism=2, order="stop-first"),
    )

    spec = service_spec(
        release(rolled), rolled, image="sha256:abc", block=213, promotion_id="P1",
        stop_grace=10.0, start_interval=False,
    )  # fmt: skip

    assert (spec.update_config["Parallelism"], spec.update_config["Order"]) == (2, "stop-first")
