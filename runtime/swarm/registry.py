"""Where the nodes of a swarm get the images they run: the registry seam.

A Swarm service names an image; every node that runs one of its tasks must be able to
get that image. On one node with no registry, the node that builds is the node that
runs, so the local image is used as it is, named by its id (``sha256:…``): an id is
immutable, and the engine never tries to pull an image named by its id, so a task
starts at once even offline. With several nodes, images must be pushed to a registry at
build time and services must name them by ``repository@digest``: that is a second
implementation of :class:`Registry` (not built yet; see the README's Swarm section).
"""

from __future__ import annotations

from typing import Protocol

from ledger.runtime import BuildLog, BuiltImages
from runtime.docker.engine import Engine
from runtime.docker.images import resolve_image


class Registry(Protocol):
    """How built images reach the nodes, and how a service names them."""

    def push(self, images: BuiltImages, log: BuildLog) -> None:
        """Make a build's images available to every node (called after a build)."""
        ...

    def reference(self, image: str) -> str:
        """The reference a service spec gives for ``image`` (a tag or an image id
        recorded in a release); ``NotFound`` if there is no such image."""
        ...


class LocalImages:
    """No registry: the swarm's only node runs the images its own engine built."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def push(self, images: BuiltImages, log: BuildLog) -> None:
        """Nothing to do: the images are already on the only node."""
        return None

    def reference(self, image: str) -> str:
        """The local image's id (``NotFound`` if the engine lacks it)."""
        return resolve_image(self.engine, image)
