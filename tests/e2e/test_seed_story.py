"""The seed's whole story, through `ledgerctl`, against a real `ledgerd`."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Deployment


def snapshot(d: Deployment) -> dict[str, Any]:
    """Everything a dashboard or an auditor would read about the app."""
    return {
        "app": d.js("apps", "info", "shop"),
        "releases": d.js("-a", "shop", "releases"),
        "builds": d.js("-a", "shop", "builds"),
        "promotions": d.js("-a", "shop", "promotions"),
        "history": d.js("history", "--limit", "1000"),
        "env": d.js("-a", "shop", "env"),
    }


def active(d: Deployment) -> str:
    return str(d.js("apps", "info", "shop")["active_release_id"])


def env_head(d: Deployment) -> tuple[int, dict[str, str]]:
    """The app's env head: its version and values (revealed)."""
    head = d.js("-a", "shop", "env", "--reveal")
    return head["version"], head["env"]


def test_the_seed_story_end_to_end(deployment: Deployment) -> None:
    d = deployment
    d.ctl("apps", "create", "shop")

    # A build without promotion creates a release that is not active.
    built = d.js("-a", "shop", "build", "--image", "shop:1", "--description", "first")
    r1 = built["release_id"]
    assert built["build"]["status"] == "succeeded"
    releases = d.js("-a", "shop", "releases")
    assert [(r["id"], r["version"], r["active"]) for r in releases] == [(r1, 1, False)]
    assert d.js("apps", "info", "shop")["active_release_id"] is None

    # Deploy: build, then promote, and wait for it.
    deployed = d.js("-a", "shop", "deploy", "--image", "shop:2", "--wait")
    r2 = deployed["promotion"]["release_id"]
    assert deployed["promotion"]["status"] == "succeeded"
    assert active(d) == r2
    position_after_deploy = d.js("history", "--limit", "1000")[-1]["position"]

    # env set without --promote: a new release from the ACTIVE build, not promoted.
    changed = d.js("-a", "shop", "env", "set", "DATABASE_URL=postgres://db/shop")
    r3 = changed["release"]["id"]
    assert changed["release"]["build_id"] == deployed["build"]["id"]
    assert changed["release"]["parent_id"] == r2
    assert changed["added"] == ["DATABASE_URL"]
    assert active(d) == r2

    # env set with --promote: released and active.
    promoted = d.js("-a", "shop", "env", "set", "WORKERS=4", "--promote", "--wait")
    r4 = promoted["release"]["id"]
    assert active(d) == r4
    assert d.ctl("-a", "shop", "env", "get", "WORKERS").out.strip() == "4"
    info = d.js("-a", "shop", "releases", "info", r4, "--reveal")
    assert info["env"] == {"DATABASE_URL": "postgres://db/shop", "WORKERS": "4"}

    # A stale env edit is refused and changes nothing.
    stale = d.ctl("-a", "shop", "env", "set", "X=1", "--expect-version", "1", ok=False)
    assert stale.code == 1 and "version" in stale.err and "Traceback" not in stale.err
    assert d.js("-a", "shop", "env")["version"] == 2

    # Promote an older release: the env head follows what runs (r1 ran with no env).
    d.ctl("-a", "shop", "releases", "promote", r1, "--wait")
    assert active(d) == r1
    assert env_head(d) == (3, {})

    # Roll back to r2: a new release copying r2 (its env and env version), newer ones kept.
    rolled = d.js("-a", "shop", "releases", "rollback", r2, "--wait")
    r5 = rolled["release"]["id"]
    assert (rolled["release"]["reason"], rolled["release"]["parent_id"]) == ("rollback", r2)
    assert rolled["release"]["env_version"] == 0
    assert active(d) == r5
    ids = [r["id"] for r in d.js("-a", "shop", "releases")]
    assert ids == [r5, r4, r3, r2, r1]

    # Roll forward: the newer release is still promotable, and the env head follows it.
    d.ctl("-a", "shop", "releases", "promote", r4, "--wait")
    assert active(d) == r4
    marked = {r["id"]: r["active"] for r in d.js("-a", "shop", "releases")}
    assert marked == {r5: False, r4: True, r3: False, r2: False, r1: False}
    assert env_head(d) == (4, {"DATABASE_URL": "postgres://db/shop", "WORKERS": "4"})

    # So env set after the roll forward builds on r4's values, not on what was rolled back.
    edited = d.js("-a", "shop", "env", "set", "WORKERS=8")
    assert (edited["env_version"], edited["added"], edited["changed"]) == (5, [], ["WORKERS"])
    info = d.js("-a", "shop", "releases", "info", edited["release"]["id"], "--reveal")
    assert info["env"] == {"DATABASE_URL": "postgres://db/shop", "WORKERS": "8"}
    assert active(d) == r4

    # Time travel: as of the deploy, r2 was active.
    then = d.js("apps", "info", "shop", "--at", str(position_after_deploy))
    assert then["active_release_id"] == r2

    # History has who, what, when.
    history = d.js("-a", "shop", "history", "--limit", "1000")
    kinds = {e["type"] for e in history}
    assert {"AppCreated", "BuildSucceeded", "EnvChanged", "ReleaseActivated"} <= kinds
    followed = [e["actor"] for e in history if e["type"] == "EnvChanged"]
    assert followed.count("ledgerd") == 2  # the head followed r1, then r4
    assert all(e["actor"] and e["time"] for e in history)
    assert "postgres://db/shop" not in d.ctl("--json", "history", "--limit", "1000").out

    before = snapshot(d)

    # A graceful restart keeps everything.
    d.stop()
    d.start()
    assert snapshot(d) == before

    # A crash (kill -9) and restart keeps everything too.
    d.crash()
    d.start()
    assert snapshot(d) == before

    # Rebuilding the projections from position 0 gives identical answers.
    d.stop()
    rebuilt = d.ledgerd("projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    d.start()
    assert snapshot(d) == before
