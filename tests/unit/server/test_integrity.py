"""The integrity finding: kept across restarts, the write guard it arms, what clears it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import IntegrityCompromised
from projections.scrub import CHANGED, Mismatch
from server.infra.integrity import FileFindings, Finding, Integrity

MISMATCH = Mismatch(position=7, log_position=7, problem=CHANGED)


def test_without_a_finding_writes_are_accepted(tmp_path: Path) -> None:
    integrity = Integrity(FileFindings(tmp_path))

    integrity.refresh()

    integrity.check_writable()
    assert integrity.finding is None


def test_a_reported_mismatch_refuses_writes_naming_the_position_and_the_operators_action(
    tmp_path: Path,
) -> None:
    integrity = Integrity(FileFindings(tmp_path))

    integrity.report(MISMATCH, "the start scrub")

    with pytest.raises(IntegrityCompromised) as refused:
        integrity.check_writable()
    message = str(refused.value)
    assert "position 7" in message
    assert "restore the ledger from a backup" in message
    assert "ledgerd audit scrub" in message


def test_the_finding_survives_a_restart(tmp_path: Path) -> None:
    Integrity(FileFindings(tmp_path)).report(MISMATCH, "the background scrub")

    restarted = Integrity(FileFindings(tmp_path))
    restarted.refresh()

    assert restarted.finding is not None
    assert restarted.finding.mismatch == MISMATCH
    assert restarted.finding.found_by == "the background scrub"
    with pytest.raises(IntegrityCompromised):
        restarted.check_writable()


def test_clearing_the_finding_accepts_writes_again_here_and_after_a_restart(
    tmp_path: Path,
) -> None:
    integrity = Integrity(FileFindings(tmp_path))
    integrity.report(MISMATCH, "ledgerd audit scrub")

    cleared = integrity.clear()

    assert cleared is not None and cleared.mismatch == MISMATCH
    integrity.check_writable()
    restarted = Integrity(FileFindings(tmp_path))
    restarted.refresh()
    assert restarted.finding is None


def test_listeners_are_told_of_each_change_once(tmp_path: Path) -> None:
    integrity = Integrity(FileFindings(tmp_path))
    told: list[Finding | None] = []
    integrity.listeners.append(told.append)

    integrity.report(MISMATCH, "the background scrub")
    integrity.report(MISMATCH, "the background scrub")  # found again on the next pass
    integrity.refresh()
    integrity.clear()

    assert [None if f is None else f.position for f in told] == [7, None]
