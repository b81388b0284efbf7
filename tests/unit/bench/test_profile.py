"""The profile's layers: each sample goes to the innermost piece of work its stack shows."""

from __future__ import annotations

from bench.profile import OTHER, parse

LOOP = "BaseEventLoop._run_once (asyncio/base_events.py);Handle._run (asyncio/events.py)"
HANDLER = f"{LOOP};EnvServicer.UpdateEnv (server/grpc/servicers/env.py)"
WORKER = "Thread.run (threading.py);ProjectionWorker._run (projections/worker.py)"
COMMAND = "Thread.run (threading.py);LedgerService.update_env (ledger/service.py)"


def test_a_sample_in_the_merkle_tree_counts_as_the_tree_not_as_the_views_around_it() -> None:
    profile = parse(f"{WORKER};MerkleWriter.append (projections/merkle.py) 3\n")

    assert profile.layers == {"projecting: Merkle tree": 3}


def test_a_save_counts_as_the_save_not_as_the_command_or_the_handler_that_made_it() -> None:
    raw = f"{COMMAND};GroupCommit._save_group (ledger/commit.py);execute (sqlite3) 2\n"

    assert parse(raw).layers == {"command: save (eventsourcing, SQL, cipher)": 2}


def test_the_loop_and_the_handlers_own_work_count_as_grpc_and_the_rest_as_other() -> None:
    profile = parse(f"{HANDLER} 5\n{LOOP} 4\nmain (tool.py) 1\n")

    assert profile.layers == {"gRPC, asyncio and handlers": 9, OTHER: 1}
    assert profile.samples == 10


def test_a_read_of_the_views_counts_as_a_read_and_projecting_them_as_projecting() -> None:
    read = f"{HANDLER};Queries.release (ledger/queries/releases.py);get (projections/rows.py)"
    written = f"{WORKER};LedgerViews.apply_batch (projections/store.py)"

    profile = parse(f"{read} 2\n{written} 1\n")

    assert profile.layers == {
        "reads (queries, console, metrics)": 2,
        "projecting: views and hot cache": 1,
    }


def test_handing_a_call_to_a_thread_counts_as_a_hand_off_not_as_grpc() -> None:
    submit = f"{HANDLER};Backend._start (server/backend.py);submit (concurrent/futures/thread.py)"

    assert parse(f"{submit} 1\n").layers == {"hand-offs between the loop and threads": 1}


def test_the_table_gives_each_layers_share_of_the_cpu_per_command() -> None:
    profile = parse(f"{COMMAND};decide (ledger/releasing.py) 1\n{HANDLER} 3\n")

    table = profile.table(commands=100, cpu_seconds=0.4)  # 4 ms of CPU per command

    assert "| command: decide (ledger) | 25% | 1.00 |" in table
    assert "| gRPC, asyncio and handlers | 75% | 3.00 |" in table
    assert "| all (4 samples) | 100% | 4.00 |" in table


def test_lines_that_are_not_samples_are_skipped() -> None:
    assert parse("\n# py-spy\nno count here\n").samples == 0
