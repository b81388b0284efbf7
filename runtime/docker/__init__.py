"""The Docker adapter of the runtime port (``LEDGER_RUNTIME=docker``).

Modules: ``engine`` (the client), ``images`` (builds, image references), ``labels``
(what a container carries), ``containers`` (listing, start/stop, state, output),
``ports`` (``$PORT`` assignment), ``health`` (the health checks and every wait),
``rollout`` (converging an app to a release), ``oneoff`` (one-off commands in
containers of their own), ``placement`` (where the app's replicas run, for ``ps``),
``redact`` (keeping env values out of steps and causes), ``adapter``
(``DockerRuntime``, tying them to the port).
"""

from runtime.docker.adapter import DockerRuntime

__all__ = ["DockerRuntime"]
