"""TLS: ``ledgerd`` with LEDGER_TLS_CERT/KEY, ``ledgerctl`` verifying it with LEDGER_CA.

The certificates are made here: a throwaway CA and a certificate it signed for 127.0.0.1
and localhost (tests/support/tls.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import InvalidArgument
from server.infra.settings import Settings
from server.infra.tls import server_credentials
from tests.integration.cli.runner import Ledgerctl
from tests.support.ledgerd import InProcessLedgerd
from tests.support.tls import Certificates, make_certificates


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "tls")


@pytest.fixture
def tls_ledgerd(tmp_path: Path, certificates: Certificates) -> Iterator[InProcessLedgerd]:
    settings = Settings(
        data_dir=tmp_path / "ledger",
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        tls_cert=certificates.cert,
        tls_key=certificates.key,
    )
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def ledgerctl(tls_ledgerd: InProcessLedgerd) -> Ledgerctl:
    return Ledgerctl(tls_ledgerd.address, tls_ledgerd.token)


def test_ledgerctl_given_the_ca_talks_to_ledgerd_over_tls(
    ledgerctl: Ledgerctl, certificates: Certificates
) -> None:
    by_env = ledgerctl.ok("--json", "whoami", environ={"LEDGER_CA": str(certificates.ca)})
    localhost = ledgerctl.address.replace("127.0.0.1", "localhost")
    by_option = ledgerctl.ok("--host", localhost, "--ca", str(certificates.ca), "apps")

    assert by_env.json["name"] == "admin"
    assert by_option.stdout


def test_ledgerctl_without_the_ca_cannot_reach_a_tls_ledgerd_and_says_to_give_it(
    ledgerctl: Ledgerctl,
) -> None:
    result = ledgerctl("whoami")

    assert result.code == 4
    assert result.stderr == (
        f"ledgerctl: error: cannot reach ledgerd at {ledgerctl.address} "
        "(if it serves TLS, give its CA with --ca FILE or LEDGER_CA, or use --tls)\n"
    )


def test_ledgerctl_with_another_ca_refuses_the_server_certificate(
    ledgerctl: Ledgerctl, tmp_path: Path
) -> None:
    other = make_certificates(tmp_path / "other", "other")

    result = ledgerctl("whoami", environ={"LEDGER_CA": str(other.ca)})

    assert result.code == 4
    assert result.stderr == (
        f"ledgerctl: error: cannot reach ledgerd at {ledgerctl.address}: its TLS certificate "
        "is not signed by the CA given (--ca or LEDGER_CA)\n"
    )


def test_tls_needs_both_the_certificate_and_its_key() -> None:
    with pytest.raises(InvalidArgument, match="LEDGER_TLS_CERT and LEDGER_TLS_KEY go together"):
        Settings.from_env({"LEDGER_TLS_CERT": "server.pem"})


def test_a_key_that_is_not_the_certificates_is_refused_at_start(tmp_path: Path) -> None:
    mine, other = make_certificates(tmp_path / "a"), make_certificates(tmp_path / "b")
    settings = Settings(tls_cert=mine.cert, tls_key=other.key)

    with pytest.raises(InvalidArgument, match="is not the key of the certificate"):
        server_credentials(settings)
    with pytest.raises(InvalidArgument, match="holds no PEM certificate"):
        server_credentials(dataclasses.replace(settings, tls_cert=mine.key))
    with pytest.raises(InvalidArgument, match="cannot read"):
        server_credentials(dataclasses.replace(settings, tls_key=tmp_path / "missing.key"))
