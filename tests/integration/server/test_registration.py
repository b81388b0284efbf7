"""A service registered as a generic handler only still answers every method over gRPC."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from server.grpc.registration import add_generic

CHECK = "Check"


async def check(adapt_check: bool) -> int:
    """Serve the health service through ``add_generic`` on a free port and ask it."""
    servicer = health.aio.HealthServicer()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)

    def not_serving(handlers: dict[str, grpc.RpcMethodHandler]) -> dict[str, grpc.RpcMethodHandler]:
        async def answer(request: object, context: object) -> health_pb2.HealthCheckResponse:
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.NOT_SERVING)

        return {**handlers, CHECK: handlers[CHECK]._replace(unary_unary=answer)}

    server = grpc.aio.server()
    add_generic(
        health_pb2_grpc.add_HealthServicer_to_server,
        servicer,
        server,
        *((not_serving,) if adapt_check else ()),
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            return int(reply.status)
    finally:
        await server.stop(None)


def test_a_service_registered_as_one_generic_handler_answers_its_methods() -> None:
    assert asyncio.run(check(adapt_check=False)) == health_pb2.HealthCheckResponse.SERVING


def test_a_method_handler_replaced_before_registering_is_the_one_that_answers() -> None:
    assert asyncio.run(check(adapt_check=True)) == health_pb2.HealthCheckResponse.NOT_SERVING
