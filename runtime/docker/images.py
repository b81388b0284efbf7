"""Images: resolving references the engine already has, and building from source.

We never pull: an image reference names an image that was built or loaded on the
engine. Builds go through the low-level API with ``decode=True`` so that each line of
the engine's output reaches the build's log as it arrives, and with ``rm``/``forcerm``
so that a failed step leaves no intermediate container behind. The SDK reads
``.dockerignore`` itself when it packs the build context from a directory. Builds share
nothing but the engine client, so several may run at once from several threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import docker

from ledger.errors import NotFound, Unavailable
from ledger.manifest import Service
from ledger.runtime import BuildFailed, BuildLog, BuildRequest, BuiltImages
from runtime.docker.engine import ENGINE_ERRORS, Engine


def resolve_image(engine: Engine, reference: str) -> str:
    """The id (``sha256:…``) of the local image ``reference``; ``NotFound`` if the engine
    has no such image (or the reference is malformed)."""
    if not reference.strip():
        raise NotFound("no image reference was given")
    try:
        info: dict[str, Any] = engine.api.inspect_image(reference)  # type: ignore[no-untyped-call]
    except docker.errors.APIError as error:
        if error.status_code in (400, 404):
            detail = _explanation(error)
            raise NotFound(
                f"image {reference} is not on the Docker engine ({detail}); images are "
                "never pulled: build it or load it on the engine first"
            ) from None
        raise Unavailable(engine.unreachable(error)) from error
    except ENGINE_ERRORS as error:
        raise Unavailable(engine.unreachable(error)) from error
    return str(info["Id"])


def image_tag(request: BuildRequest, service: Service) -> str:
    """``<app>:<build id>`` for a one-service manifest, ``<app>:<build id>-<service>``
    otherwise (so every image of a build is found by its app and build id)."""
    if len(request.manifest.services) == 1:
        return f"{request.app}:{request.build_id}"
    return f"{request.app}:{request.build_id}-{service.name}"


def build_images(engine: Engine, request: BuildRequest, log: BuildLog) -> BuiltImages:
    """Build every service that has ``build``, resolve every service that names an image."""
    tags: dict[str, str] = {}
    ids: dict[str, str] = {}
    several = len(request.manifest.services) > 1
    for service in request.manifest.services:
        if service.image:
            try:
                ids[service.name] = resolve_image(engine, service.image)
            except NotFound as error:
                log.write(f"service {service.name}: {error}\n")
                raise BuildFailed(f"service {service.name}: {error}") from None
            tags[service.name] = service.image
            continue
        tag = image_tag(request, service)
        if several:
            log.write(f"==> service {service.name}: building {tag}\n")
        ids[service.name] = _build_one(engine, request.source, service, tag, log)
        tags[service.name] = tag
    return BuiltImages(tags=tags, ids=ids)


def _build_one(engine: Engine, source: Path, service: Service, tag: str, log: BuildLog) -> str:
    """Build one image, streaming its output to ``log``; its id, or ``BuildFailed``."""
    where = f"service {service.name}: " if service.name else ""
    context = (source / (service.build or ".")).resolve()
    if not context.is_relative_to(source.resolve()) or not context.is_dir():
        reason = f"{where}build directory {service.build or '.'} is not in the source"
        log.write(reason + "\n")
        raise BuildFailed(reason)
    if not (context / service.dockerfile).is_file():
        reason = f"{where}{service.dockerfile} not found in {service.build or '.'}"
        log.write(reason + "\n")
        raise BuildFailed(reason)
    try:
        stream = engine.api.build(
            path=str(context),
            dockerfile=service.dockerfile,
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
        )
        image_id, error = _follow(stream, log)
    except docker.errors.APIError as failure:  # refused before any step ran (bad Dockerfile)
        reason = _explanation(failure)
        log.write(reason + "\n")
        raise BuildFailed(f"{where}{reason}") from None
    except ENGINE_ERRORS as failure:
        reason = engine.unreachable(failure)
        log.write(reason + "\n")
        raise BuildFailed(f"{where}{reason}") from None
    if error:
        raise BuildFailed(f"{where}{error}")
    return image_id or resolve_image(engine, tag)


def _follow(stream: Iterable[Any], log: BuildLog) -> tuple[str, str]:
    """Write the engine's build output to ``log``; (image id, first error line)."""
    image_id = ""
    error = ""
    for chunk in stream:
        if not isinstance(chunk, dict):
            continue
        if "stream" in chunk:
            log.write(str(chunk["stream"]))
        if "status" in chunk:
            progress = chunk.get("progress")
            log.write(f"{chunk['status']}{' ' + str(progress) if progress else ''}\n")
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail") or {}
            text = str(chunk.get("error") or detail.get("message") or "the build failed")
            log.write(text.rstrip("\n") + "\n")
            error = error or _one_line(text)
        aux = chunk.get("aux")
        if isinstance(aux, dict) and aux.get("ID"):
            image_id = str(aux["ID"])
    return image_id, error


def _explanation(error: docker.errors.APIError) -> str:
    return _one_line(str(error.explanation or error))


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else "the build failed")[:500]
