"""The bare grpc.aio echo server of the ceiling, run as its own process.

Usage: python echo_server.py GEN_DIR PORT [uvloop]  (GEN_DIR holds the generated
echo_pb2*; ``uvloop``: serve on uvloop, as ``ledgerd`` does by default, instead of
Python's own event loop). Prints ``ready`` when it serves.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any


async def serve(port: int) -> None:
    import echo_pb2  # type: ignore[import-not-found]
    import echo_pb2_grpc  # type: ignore[import-not-found]
    from grpc import aio

    class Echo(echo_pb2_grpc.EchoServicer):  # type: ignore[misc]
        async def Echo(self, request: Any, context: Any) -> Any:
            return echo_pb2.Pong(msg=request.msg)

        async def Stream(self, request: Any, context: Any) -> AsyncIterator[Any]:
            reply = echo_pb2.Pong(msg=request.msg)
            for _ in range(request.count):
                yield reply

    server = aio.server()
    echo_pb2_grpc.add_EchoServicer_to_server(Echo(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination(timeout=3600)


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    if sys.argv[3:] == ["uvloop"]:
        import uvloop

        uvloop.run(serve(int(sys.argv[2])))
    else:
        asyncio.run(serve(int(sys.argv[2])))
