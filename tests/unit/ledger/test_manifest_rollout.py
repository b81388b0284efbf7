"""The manifest's ``rollout`` settings: read, checked with a message naming the key, and
kept in what releases store (a release stored before the settings existed reads as the
defaults: one replica at a time, start-first)."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidArgument
from ledger.manifest import Manifest, Rollout

WEB = """\
services:
  web:
    port: 3000
    scale: 4
    rollout: {rollout}
"""


def test_a_service_without_rollout_settings_is_replaced_one_at_a_time_start_first() -> None:
    manifest = Manifest.parse("services:\n  web:\n    port: 3000\n")

    assert manifest.service("web").rollout == Rollout(parallelism=1, order="start-first")


def test_rollout_settings_are_read_and_survive_what_releases_store() -> None:
    manifest = Manifest.parse(WEB.format(rollout="{parallelism: 2, order: stop-first}"))

    stored = Manifest.from_dict(manifest.to_dict())

    assert stored.service("web").rollout == Rollout(parallelism=2, order="stop-first")


def test_a_manifest_stored_before_rollout_settings_reads_as_the_defaults() -> None:
    stored = Manifest.parse(WEB.format(rollout="{parallelism: 2}")).to_dict()
    del stored["services"][0]["rollout"]

    assert Manifest.from_dict(stored).service("web").rollout == Rollout()


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ("{order: sideways}", "services.web.rollout.order must be one of start-first, stop-first"),
        ("{parallelism: 0}", "services.web.rollout.parallelism must be a number from 1 to 50"),
        ("{parallelism: 1.5}", "services.web.rollout.parallelism must be a number from 1 to 50"),
        ("{speed: 2}", "services.web.rollout: unknown key speed"),
        ("fast", "services.web.rollout must be a mapping"),
    ],
)
def test_bad_rollout_settings_are_refused_naming_the_key(rollout: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Manifest.parse(WEB.format(rollout=rollout))
