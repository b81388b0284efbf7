"""A build's log is stored in batches: by time, by size, at the end, and capped."""

from __future__ import annotations

from ledger.building import BatchedLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def batched(
    limit: int = 4 * 1024 * 1024,
) -> tuple[BatchedLog, list[tuple[int, str]], Clock]:
    stored: list[tuple[int, str]] = []
    clock = Clock()
    output = BatchedLog(lambda seq, text: stored.append((seq, text)), limit=limit, clock=clock)
    return output, stored, clock


def test_lines_written_within_a_quarter_second_are_held() -> None:
    output, stored, clock = batched()

    output.write("Step 1/3\n")
    clock.now += 0.1
    output.write("Step 2/3\n")

    assert stored == []


def test_once_a_quarter_second_passed_the_held_output_is_stored_as_one_chunk() -> None:
    output, stored, clock = batched()
    output.write("Step 1/3\n")
    clock.now += 0.3

    output.write("Step 2/3\n")

    assert stored == [(1, "Step 1/3\nStep 2/3\n")]


def test_output_that_stops_coming_is_stored_by_the_timer() -> None:
    output, stored, clock = batched()
    output.write("RUN sleep 3\n")
    clock.now += 0.3

    output.flush_if_due()

    assert stored == [(1, "RUN sleep 3\n")]


def test_16_kib_of_output_is_stored_at_once() -> None:
    output, stored, _ = batched()

    output.write("x" * 10_000)
    output.write("y" * 7_000)

    assert [(seq, len(text)) for seq, text in stored] == [(1, 17_000)]


def test_close_stores_what_is_left_and_chunks_are_numbered_in_order() -> None:
    output, stored, clock = batched()
    output.write("one\n")
    clock.now += 1
    output.write("two\n")
    output.write("three\n")

    output.close()

    assert stored == [(1, "one\ntwo\n"), (2, "three\n")]


def test_past_the_cap_the_log_keeps_one_truncation_line_and_drops_the_rest() -> None:
    output, stored, _ = batched(limit=10)

    output.write("0123456789ABCDEF\n")
    output.write("more output\n")
    output.close()

    text = "".join(text for _, text in stored)
    assert text.startswith("0123456789\n… log truncated")
    assert text.count("log truncated") == 1
    assert "more output" not in text


def test_nul_bytes_are_stored_as_replacement_characters() -> None:
    output, stored, _ = batched()

    output.write("a\x00b\n")
    output.close()

    assert stored == [(1, "a\ufffdb\n")]
