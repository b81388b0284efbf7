"""Where the nodes of a swarm get the images they run: the registry seam.

A Swarm service names an image; every node that runs one of its tasks must be able to
get that image. Two implementations:

- :class:`LocalImages` (no ``LEDGER_REGISTRY``): on a single node the engine that builds
  is the engine that runs, so the local image is used as it is, named by its id
  (``sha256:…``). An id is immutable, and the engine never pulls an image named by its
  id, so a task starts at once even offline. A worker of a multi-node swarm could not
  get it ("could not be accessed on a registry"): a cluster needs a registry.
- :class:`RegistryImages` (``LEDGER_REGISTRY=host:port``): each build's images are
  pushed to the registry as the build's last step (shown in its log; a push that fails
  fails the build), and the release records them by digest, ``host:port/APP/SERVICE@
  sha256:…``: immutable, and pullable by every node. An image recorded before the
  registry was configured (a local id, a release made on the single-engine runtime) is
  pushed when a rollout first needs it, so rolling back to it works on the cluster too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import docker

from ledger.errors import NotFound, Unavailable
from ledger.runtime import BuildFailed, BuildLog, BuildRequest, BuiltImages
from runtime.docker.engine import ENGINE_ERRORS, Engine
from runtime.docker.images import resolve_image

DIGEST = "@sha256:"
IMPORTED = "ledger/imported"  # the repository of images pushed at rollout (local ids)
QUIET = frozenset({"Preparing", "Waiting"})  # push statuses not worth a line of the log


class Registry(Protocol):
    """How built images reach the nodes, and how a service names them."""

    def push(self, request: BuildRequest, images: BuiltImages, log: BuildLog) -> BuiltImages:
        """Make a build's images available to every node (called after a build); the
        images as the release must record them. ``BuildFailed`` if they cannot be."""
        ...

    def reference(self, image: str) -> str:
        """The reference a service spec gives for ``image`` (a tag, an image id or a
        digest reference recorded in a release); ``NotFound`` if there is no such image."""
        ...


class LocalImages:
    """No registry: the swarm's only node runs the images its own engine built."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def push(self, request: BuildRequest, images: BuiltImages, log: BuildLog) -> BuiltImages:
        """Nothing to do: the images are already on the only node."""
        return images

    def reference(self, image: str) -> str:
        """The local image's id (``NotFound`` if the engine lacks it)."""
        return resolve_image(self.engine, image)


@dataclass(frozen=True)
class Pushed:
    """The end of one push: the registry's digest of the image, or why it failed."""

    digest: str = ""
    error: str = ""


class RegistryImages:
    """A registry every node can pull from (``LEDGER_REGISTRY``), fed by the building
    engine (see the module's docstring)."""

    def __init__(self, engine: Engine, address: str) -> None:
        self.engine = engine
        self.address = address.strip().rstrip("/")

    def push(self, request: BuildRequest, images: BuiltImages, log: BuildLog) -> BuiltImages:
        """Push every service's image as ``REGISTRY/APP/SERVICE:BUILD`` (the tag the
        release shows); the build's images are ``REGISTRY/APP/SERVICE@sha256:…``, what
        the services run."""
        tags: dict[str, str] = {}
        ids: dict[str, str] = {}
        for service, image_id in images.ids.items():
            repository = f"{self.address}/{request.app}/{service}"
            tags[service] = f"{repository}:{request.build_id}"
            log.write(f"==> pushing {service} to {tags[service]}\n")
            try:
                ids[service] = self.publish(image_id, repository, request.build_id, log)
            except (Unavailable, NotFound) as error:
                log.write(f"push failed: {error}\n")
                raise BuildFailed(f"service {service}: {error}") from None
            log.write(f"pushed {ids[service]}\n")
        return BuiltImages(tags=tags, ids=ids)

    def reference(self, image: str) -> str:
        """A digest reference as it is (the nodes pull it); anything else is a local
        image, pushed now (see the module's docstring)."""
        if DIGEST in image:
            return image
        image_id = resolve_image(self.engine, image)
        tag = image_id.removeprefix("sha256:")[:32]
        return self.publish(image_id, f"{self.address}/{IMPORTED}", tag, None)

    def publish(self, image: str, repository: str, tag: str, log: BuildLog | None) -> str:
        """Tag the local ``image`` as ``repository:tag``, push it, and name it by the
        digest the registry answered. ``Unavailable`` if the engine or the registry
        cannot be reached or refuses."""
        try:
            self.engine.api.tag(image, repository, tag)
            stream = self.engine.api.push(repository, tag=tag, stream=True, decode=True)
            pushed = _follow(stream, log)
        except docker.errors.APIError as error:
            raise Unavailable(f"the engine refused to push to {self.address}: {error}") from None
        except ENGINE_ERRORS as error:
            raise Unavailable(self.engine.unreachable(error)) from error
        if pushed.error or not pushed.digest:
            reason = pushed.error or "the registry answered no digest"
            raise Unavailable(f"pushing to the registry {self.address} failed: {reason}")
        return f"{repository}@{pushed.digest}"


def _follow(stream: Iterable[dict[str, Any]], log: BuildLog | None) -> Pushed:
    """Write each layer's outcome to ``log`` (not the progress bars); the digest or the
    first error."""
    digest = ""
    for line in stream:
        error = line.get("error") or (line.get("errorDetail") or {}).get("message")
        if error:
            return Pushed(error=str(error).strip()[:500])
        aux = line.get("aux") or {}
        if aux.get("Digest"):
            digest = str(aux["Digest"])
        status = str(line.get("status") or "")
        if log is not None and status and status not in QUIET and not line.get("progressDetail"):
            layer = f"{line['id']}: " if line.get("id") else ""
            log.write(f"{layer}{status}\n")
    return Pushed(digest=digest)
