"""Many WatchEvents streams in one client process (run as a subprocess by the watch case).

Usage: BENCH_WATCH_TOKEN=<token> python -m bench.watch TARGET STREAMS CHANNELS FROM_POSITION

Opens STREAMS streams multiplexed on CHANNELS channels, prints ``ready N`` (N = streams
that got a first response), then reads one line ``stop HEAD COUNT SUM`` from stdin: the
final head position and the count and sum of the positions every stream must have
received. Once every stream reached HEAD (or after a timeout) it prints one JSON line.

Per stream only O(1) state is kept (count, sum, last position), so 500 streams of tens of
thousands of events fit in little memory. Delivery lag is sampled once per response: receive
time minus the ``time`` of the oldest event in it (an upper bound for the batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

import grpc

from bench import client as bench_client
from bench.client import channel
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc as pb_grpc

WATCH_TOKEN = "BENCH_WATCH_TOKEN"  # the deploy key the watchers sign in with
FIRST_RESPONSE_WAIT = 15.0
DRAIN_TIMEOUT = 60.0


@dataclass
class Stream:
    start: int
    count: int = 0
    total: int = 0
    last: int = 0
    received: int = 0
    out_of_order: int = 0
    responses: int = 0
    ended: str = ""  # why the stream ended before we cancelled it
    first: asyncio.Event = field(default_factory=asyncio.Event)
    lags: array[float] = field(default_factory=lambda: array("d"))


async def watch(stub: Any, stream: Stream, stop_at: list[int], reached: asyncio.Event) -> None:
    call = stub.WatchEvents(
        pb.WatchEventsRequest(from_position=stream.start), metadata=bench_client.METADATA
    )
    start = stream.start
    try:
        async for response in call:
            stream.responses += 1
            stream.first.set()
            events = response.events
            if events:
                now = time.time()
                oldest = events[0].time
                stream.lags.append(now - oldest.seconds - oldest.nanos / 1e9)
                last = stream.last
                for e in events:
                    position = e.position
                    stream.received += 1
                    if position <= last:
                        stream.out_of_order += 1
                        continue
                    last = position
                    if position > start:
                        stream.count += 1
                        stream.total += position
                stream.last = last
            if stop_at[0] and stream.last >= stop_at[0]:
                reached.set()
        stream.ended = "stream ended (no error)"
    except asyncio.CancelledError:
        raise
    except grpc.aio.AioRpcError as error:
        stream.ended = f"{error.code().name}: {error.details()}"
    except Exception as error:
        stream.ended = f"{type(error).__name__}: {error}"
    finally:
        stream.first.set()
        reached.set()


async def main(target: str, n_streams: int, n_channels: int, start: int) -> None:
    channels = [channel(target, tag=1000 + i) for i in range(n_channels)]
    stubs = [pb_grpc.LedgerStub(ch) for ch in channels]
    streams = [Stream(start) for _ in range(n_streams)]
    stop_at = [0]
    reached = asyncio.Event()
    tasks = [
        asyncio.create_task(watch(stubs[i % n_channels], s, stop_at, reached))
        for i, s in enumerate(streams)
    ]
    t0 = time.perf_counter()
    with_first = 0
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(s.first.wait() for s in streams)), FIRST_RESPONSE_WAIT
        )
    with_first = sum(1 for s in streams if s.responses)
    print(f"ready {with_first} {time.perf_counter() - t0:.2f}", flush=True)

    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    _, head, expected_count, expected_sum = line.split()
    stop_at[0] = int(head)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    t_stop = time.perf_counter()
    while time.monotonic() < deadline:
        if all(s.last >= stop_at[0] or s.ended for s in streams):
            break
        reached.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reached.wait(), 0.5)
    drain_secs = time.perf_counter() - t_stop
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ch in channels:
        await ch.close()

    count, total = int(expected_count), int(expected_sum)
    lags = sorted(x for s in streams for x in s.lags)
    sample = random.sample(lags, min(len(lags), 20000)) if lags else []
    incomplete = [
        {"stream": i, "got": s.count, "last": s.last}
        for i, s in enumerate(streams)
        if s.count != count or s.total != total
    ]
    print(
        json.dumps(
            {
                "streams": n_streams,
                "with_first_response": with_first,
                "complete": n_streams - len(incomplete),
                "incomplete": incomplete[:5],
                "ended_early": [s.ended for s in streams if s.ended][:5],
                "ended_early_count": sum(1 for s in streams if s.ended),
                "out_of_order": sum(s.out_of_order for s in streams),
                "events_received": sum(s.received for s in streams),
                "responses": sum(s.responses for s in streams),
                "drain_secs": round(drain_secs, 2),
                "lag_samples": len(lags),
                "lag_sample_s": sample,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    bench_client.sign_in(os.environ[WATCH_TOKEN])
    target_arg, streams_arg, channels_arg, start_arg = sys.argv[1:5]
    asyncio.run(main(target_arg, int(streams_arg), int(channels_arg), int(start_arg)))
