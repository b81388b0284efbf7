"""The Docker Swarm adapter of the runtime port (``LEDGER_RUNTIME=swarm``).

Modules: ``registry`` (how built images reach the nodes: the seam for a registry),
``ports`` (a block of ports per spec, ``$PORT`` per task slot), ``spec`` (the whole
service spec of one service of one release, health check and update config),
``records`` (services and tasks as the manager lists them), ``services`` (creating,
updating and removing services, listing tasks, their output), ``watch`` (following one
service's rolling update to success or a structured cause), ``converge`` (applying a
release's specs and removing what it lacks), ``placement`` (where the app's tasks run,
for ``ps``), ``adapter`` (``SwarmRuntime``, tying them to the port). Builds, image
lookups, env masking and the engine client are the Docker adapter's (``runtime.docker``).
"""

from runtime.swarm.adapter import SwarmRuntime

__all__ = ["SwarmRuntime"]
