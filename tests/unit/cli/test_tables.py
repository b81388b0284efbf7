"""Human output: aligned tables, the active marker, short times, escaped control chars."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from cli import tables, views
from ledger_api.v1 import ledger_pb2 as pb


def test_table_aligns_columns_on_the_widest_cell() -> None:
    out = tables.table(["A", "LONGER"], [["xxxx", "1"], ["y", "22"]])
    assert out.splitlines() == [
        "A     LONGER",
        "xxxx  1",
        "y     22",
    ]


def test_table_right_aligns_the_columns_asked() -> None:
    out = tables.table(["N", "NAME"], [["5", "a"], ["120", "b"]], right=[0])
    assert out.splitlines() == ["  N  NAME", "  5  a", "120  b"]


def test_table_without_rows_still_prints_its_headers() -> None:
    assert tables.table(["ID", "STATUS"], []) == "ID  STATUS"


def test_table_lines_have_no_trailing_spaces() -> None:
    out = tables.table(["A", "B"], [["x", ""], ["longer", ""]])
    assert all(line == line.rstrip() for line in out.splitlines())


def test_table_escapes_control_characters_from_the_server() -> None:
    out = tables.table(["D"], [["evil\n\x1b[2Jline"]])
    assert out.splitlines() == ["D", "evil\\n\\x1b[2Jline"]


def test_key_values_align_the_values() -> None:
    assert tables.key_values([("Id", "R1"), ("Version", "v3")]).splitlines() == [
        "Id       R1",
        "Version  v3",
    ]


def test_short_time_is_utc_to_the_second() -> None:
    moment = datetime(2026, 11, 26, 19, 28, 8, 999999, tzinfo=UTC)
    assert tables.short_time(moment) == "2026-11-26T19:28:08Z"


def test_when_shows_a_dash_for_an_unset_time() -> None:
    assert tables.when(pb.Release(), "created_at") == "-"


def test_version_is_shown_with_a_v() -> None:
    assert tables.version(3) == "v3"


def test_duration_text_is_short() -> None:
    assert [tables.duration_text(s) for s in (45, 184, 7500)] == ["45s", "3m04s", "2h05m"]


def test_releases_table_has_the_convox_columns_and_marks_the_active_release() -> None:
    created = Timestamp(seconds=1795721288)
    releases = [
        pb.Release(
            id="R2", version=12, build_id="B2", reason="env", actor="ann", created_at=created
        ),
        pb.Release(
            id="R1",
            version=9,
            build_id="B1",
            reason="build",
            actor="bob",
            active=True,
            description="first",
        ),
    ]
    lines = views.releases_table(releases).splitlines()
    assert lines[0].split() == [
        "VERSION",
        "ID",
        "BUILD",
        "REASON",
        "CREATED",
        "ACTOR",
        "DESCRIPTION",
    ]
    assert lines[1].split()[:2] == ["v12", "R2"]
    assert lines[2].split()[:3] == ["*", "v9", "R1"]
    assert lines[0].index("VERSION") == lines[1].index("v12") == lines[2].index("v9")
    assert "2026-11-26T19:28:08Z" in lines[1]
    # every column starts at the same offset in every row
    assert lines[0].index("ID") == lines[1].index("R2") == lines[2].index("R1")


def test_promotion_line_states_the_failure_reason() -> None:
    promotion = pb.Promotion(id="P1", release_id="R1", status="rolled_back", reason="unhealthy")
    assert views.promotion_line(promotion) == "promotion P1 of R1 rolled_back: unhealthy"
