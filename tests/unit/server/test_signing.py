"""The checkpoint signing key file: created owner-only once, then read back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ledger.errors import InvalidArgument
from server.infra.settings import Settings
from server.infra.signing import signing_key, signing_key_path


def test_the_key_is_created_owner_only_on_first_use_and_the_same_key_is_read_after(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", log_origin="ledger.example.com/log")

    first = signing_key(settings)
    again = signing_key(settings)

    path = signing_key_path(settings)
    assert path == tmp_path / "data" / "signing.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert again == first
    assert first.name == "ledger.example.com/log"
    assert first.public_key().to_text().startswith("ledger.example.com/log+")


def test_a_shared_key_file_named_by_the_settings_is_used_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "ledger.key"
    one = signing_key(Settings(data_dir=tmp_path / "one", signing_key_file=shared))
    two = signing_key(Settings(data_dir=tmp_path / "two", signing_key_file=shared))

    assert one == two
    assert not (tmp_path / "one" / "signing.key").exists()


def test_a_key_file_others_may_read_or_that_holds_no_key_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, signing_key_file=tmp_path / "signing.key")
    signing_key(settings)
    os.chmod(tmp_path / "signing.key", 0o644)
    with pytest.raises(InvalidArgument, match="owner only"):
        signing_key(settings)

    (tmp_path / "signing.key").write_text("PRIVATE+KEY+not-a-key\n")
    os.chmod(tmp_path / "signing.key", 0o600)
    with pytest.raises(InvalidArgument, match="does not hold a checkpoint signing key"):
        signing_key(settings)


def test_the_log_origin_must_be_usable_as_a_key_name() -> None:
    with pytest.raises(InvalidArgument, match="LEDGER_LOG_ORIGIN"):
        Settings.from_env({"LEDGER_LOG_ORIGIN": "my ledger"})
    assert Settings.from_env({}).log_origin == "deploy-ledger"
    assert Settings.from_env({"LEDGER_SIGNING_KEY": "/k"}).signing_key_file == Path("/k")
