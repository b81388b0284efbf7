"""Services registered as generic handlers only, never as grpc's "registered methods".

The generated ``add_XServicer_to_server`` registers each method twice: in a generic
handler, and as a registered method. grpc.aio's server keeps one pending request future
per registered method and, for every call that arrives, waits on all of them again
(``asyncio.wait`` over the set, callbacks added to and removed from each). With the
Ledger and Keys services' 49 methods that bookkeeping was 10 to 14 % of a ``GetApp``'s CPU
in a profile (``bench/run.py --profile``); a service kept generic shares one future with
every other generic one, and its methods are found by name in a dict instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc

Handlers = Mapping[str, grpc.RpcMethodHandler]


def add_generic(
    add_to_server: Callable[[Any, Any], None],
    servicer: Any,
    server: grpc.aio.Server,
    adapt: Callable[[dict[str, grpc.RpcMethodHandler]], Handlers] = dict,
) -> None:
    """Register ``servicer`` with ``server`` as the generated ``add_to_server`` would, but
    as one generic handler only; ``adapt`` may replace some of its method handlers first."""
    captured = _Captured()
    add_to_server(servicer, captured)
    handlers = adapt(dict(captured.handlers))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(captured.service, dict(handlers)),)
    )


class _Captured:
    """Stands for the server while the generated code registers a service."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: Handlers = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass  # remade by add_generic from the method handlers

    def add_registered_method_handlers(self, service: str, handlers: Handlers) -> None:
        self.service = service
        self.handlers = handlers
