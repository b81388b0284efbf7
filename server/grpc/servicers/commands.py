"""One-off commands: RunCommand (server-streaming).

The command runs in a backend thread (the runtime blocks); its output crosses to the
event loop through a queue and is streamed as it comes. A caller that goes away cancels
the command (the runtime stops its container). Translation only: the use case is
:class:`~ledger.oneoff.CommandService`'s.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

from ledger.oneoff import DEFAULT_TIMEOUT, CommandResult, RunCommand
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.servicers.base import ServicerBase

MAX_CHUNK = 64 * 1024


class _Output:
    """The command's output, handed from the runtime's thread to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), MAX_CHUNK):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, data[start : start + MAX_CHUNK])


class CommandsServicer(ServicerBase):
    """One-off commands in a release's containers."""

    @rpc
    async def RunCommand(
        self, request: pb.RunCommandRequest, context: Any
    ) -> AsyncIterator[pb.RunCommandResponse]:
        meta = meta_of(principal_of(context))
        command = RunCommand(
            app=request.app,
            service=request.service,
            command=tuple(request.command),
            release_id=request.release_id,
            timeout_seconds=request.timeout_seconds or DEFAULT_TIMEOUT,
        )
        output = _Output(asyncio.get_running_loop())
        stopped = threading.Event()
        service = self.backend.container.commands
        running = asyncio.ensure_future(
            self.backend.run(service.run, command, meta, output, stopped.is_set)
        )
        try:
            while not running.done() or not output.queue.empty():
                getting = asyncio.ensure_future(output.queue.get())
                await asyncio.wait({getting, running}, return_when=asyncio.FIRST_COMPLETED)
                if getting.done():
                    yield pb.RunCommandResponse(output=getting.result())
                else:
                    getting.cancel()
            result: CommandResult = running.result()
        finally:
            stopped.set()  # the caller went away: the runtime stops the command
        yield pb.RunCommandResponse(
            run_id=result.run_id,
            release_id=result.release_id,
            exited=True,
            exit_code=result.exit_code,
        )
