"""Audit proofs: how long a client waits for an inclusion proof, and how long checking one takes.

.venv/bin/python bench/audit.py [--events 5000] [--proofs 500] [--write-seconds 10]
    [--write-rounds 3] [--database-url postgresql://…]

Starts a ``ledgerd`` (record runtime), writes ``--events`` env changes (one event each), then
asks ``GetInclusionProof`` for ``--proofs`` random positions one after the other (the
latency a verifier sees) and verifies each one locally against the signed checkpoint
(``transparency.verify_inclusion`` over the leaf hash of the exported event). Target:
inclusion proofs under 2 ms.

The write-path cost of keeping the tree, in the same run: ``--write-seconds`` of UpdateEnv
from 8 closed-loop clients (each on its own app, as in ``bench/run.py``'s write case)
against a ledgerd keeping the tree and against one whose tree writer is switched off (a
benchmark-only ledgerd: the product has no such switch), alternating, ``--write-rounds``
each. Target: under 10 % slower writes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == HERE:  # run as a script: import as `bench.*`
    sys.path[0] = str(HERE.parent)

from bench import client as bench_client  # noqa: E402
from bench.client import Client, channel, sign_in  # noqa: E402
from bench.load import LoadResult, closed_loop  # noqa: E402
from bench.server import Ledgerd  # noqa: E402
from ledger_api.v1 import ledger_pb2 as pb  # noqa: E402
from transparency import event_leaf_v2_hash, verify_inclusion  # noqa: E402


async def measure(target: str, events: int, proofs: int) -> dict[str, float]:
    async with channel(target) as ch:
        client = Client(ch)
        await client.ready()
        await client.create_app("audited")
        for n in range(events):
            await client.update_env("audited", {"ROUND": str(n)})
        meta = bench_client.METADATA
        checkpoint = await client.stub.GetCheckpoint(pb.GetCheckpointRequest(), metadata=meta)
        size = checkpoint.size
        leaves: dict[int, bytes] = {}
        token = ""
        while True:
            page = await client.stub.ExportEvents(
                pb.ExportEventsRequest(tree_size=size, page_size=1000, page_token=token),
                metadata=meta,
            )
            for e in page.events:
                record = json.loads(e.record)  # the leaf (format 2) signs it with the event
                leaves[e.position] = event_leaf_v2_hash(
                    e.position, e.originator_id, e.originator_version, e.topic, e.state, record
                )
            token = page.next_page_token
            if not token:
                break
        asked, checked = [], []
        for position in random.sample(range(1, size + 1), min(proofs, size)):
            t0 = time.perf_counter()
            proof = await client.stub.GetInclusionProof(
                pb.GetInclusionProofRequest(position=position, tree_size=size), metadata=meta
            )
            t1 = time.perf_counter()
            ok = verify_inclusion(
                leaves[position], position - 1, size, list(proof.hashes), checkpoint.root_hash
            )
            t2 = time.perf_counter()
            assert ok, f"the proof of position {position} does not verify"
            asked.append(t1 - t0)
            checked.append(t2 - t1)
    return {
        "tree_size": float(size),
        "proof_p50_ms": statistics.median(asked) * 1000,
        "proof_p99_ms": sorted(asked)[int(len(asked) * 0.99) - 1] * 1000,
        "verify_p50_ms": statistics.median(checked) * 1000,
    }


WRITERS = 8
# ledgerd with the Merkle tree writer replaced by a no-op: what writes cost without the tree.
WITHOUT_TREE = (
    "import projections.merkle as merkle\n"
    "merkle.MerkleWriter.append = lambda self, *args: None\n"
    "from server.main import main\n"
    "main()\n"
)


async def write_load(target: str, seconds: float) -> LoadResult:
    """UpdateEnv from ``WRITERS`` clients, each on an app of its own."""
    async with channel(target) as ch:
        client = Client(ch)
        await client.ready()
        apps = [f"w{i}-{uuid.uuid4().hex[:8]}" for i in range(WRITERS)]
        for app in apps:
            await client.create_app(app)
        rounds = [0] * WRITERS

        async def write(i: int) -> None:
            rounds[i] += 1
            await client.update_env(apps[i], {"ROUND": str(rounds[i])})

        return await closed_loop(write, WRITERS, seconds)


def measure_writes(database_url: str, with_tree: bool, seconds: float) -> LoadResult:
    command = None if with_tree else [sys.executable, "-c", WITHOUT_TREE]
    server = Ledgerd(database_url=database_url, command=command)
    server.start()
    try:
        sign_in(server.token())
        return asyncio.run(write_load(server.target, seconds))
    finally:
        server.stop()


def compare_writes(database_url: str, seconds: float, rounds: int) -> None:
    """Alternate with and without the tree, so that machine noise hits both alike."""
    results: dict[bool, list[LoadResult]] = {True: [], False: []}
    for _ in range(rounds):
        for with_tree in (True, False):
            results[with_tree].append(measure_writes(database_url, with_tree, seconds))
    rates = {k: statistics.median(r.rate for r in v) for k, v in results.items()}
    p99 = {k: statistics.median(r.ms(0.99) for r in v) for k, v in results.items()}
    for with_tree, label in ((True, "with the tree   "), (False, "without the tree")):
        print(
            f"UpdateEnv {label}: {rates[with_tree]:.0f} cmd/s, p99 {p99[with_tree]:.1f} ms "
            f"(median of {rounds} rounds of {seconds:.0f} s, {WRITERS} writers)"
        )
    slower = (1 - rates[True] / rates[False]) * 100 if rates[False] else 0.0
    print(f"keeping the tree makes writes {slower:.1f} % slower (target < 10 %)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--proofs", type=int, default=500)
    p.add_argument("--database-url", default="")
    p.add_argument("--write-seconds", type=float, default=10.0, help="0: skip the write cost")
    p.add_argument("--write-rounds", type=int, default=3)
    args = p.parse_args()
    server = Ledgerd(database_url=args.database_url)
    server.start()
    try:
        sign_in(server.token())
        result = asyncio.run(measure(server.target, args.events, args.proofs))
    finally:
        server.stop()
    print(f"tree of {result['tree_size']:.0f} events")
    print(
        f"GetInclusionProof p50 {result['proof_p50_ms']:.2f} ms, "
        f"p99 {result['proof_p99_ms']:.2f} ms (target < 2 ms)"
    )
    print(f"verify one proof locally p50 {result['verify_p50_ms']:.3f} ms")
    if args.write_seconds > 0:
        compare_writes(args.database_url, args.write_seconds, args.write_rounds)


if __name__ == "__main__":
    main()
