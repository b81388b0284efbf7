"""The layers' dependencies point inward, as the README's Architecture section draws them.

Read from the source (every ``import`` anywhere in a module, also inside functions), so a
shortcut taken in a hurry fails here rather than in review:

- ``ledger`` (domain and application) knows no gRPC, Docker or SQL, and none of the outer
  packages; its ``domain`` knows nothing of the application layer around it;
- ``projections`` and ``runtime`` are adapters of ``ledger``'s ports: they know ``ledger``,
  not each other, not the server, not the API;
- ``server``'s entry points (``grpc``, ``console``) know nothing of each other, and its
  infrastructure (``infra``) nothing of the entry points or the composition root;
- ``cli`` is a gRPC client only: the generated API (and the offline verifier of
  ``transparency``), never the server side;
- ``transparency`` (the Merkle math and formats) stands alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package (or sub-package) -> module prefixes it must never import
FORBIDDEN: dict[str, set[str]] = {
    "ledger": {
        "projections", "runtime", "server", "cli", "ledger_api", "grpc", "docker",
        "psycopg", "sqlite3", "starlette", "transparency",
    },
    "ledger/domain": {
        "ledger.application", "ledger.service", "ledger.lifecycle", "ledger.promoter",
        "ledger.queries", "ledger.policy", "ledger.keys", "ledger.building", "ledger.commands",
        "ledger.read_model", "ledger.views", "ledger.runtime", "ledger.releasing",
    },
    "projections": {"runtime", "server", "cli", "ledger_api", "grpc", "docker", "starlette"},
    "runtime": {"projections", "server", "cli", "ledger_api", "grpc", "psycopg", "starlette"},
    "server/grpc": {"server.console", "cli"},
    "server/console": {"server.grpc", "grpc", "cli"},
    "server/infra": {"server.grpc", "server.console", "server.bootstrap", "server.backend", "cli"},
    "server/metrics": {
        "server.grpc", "server.console", "server.bootstrap", "server.backend", "cli", "grpc",
        "starlette",
    },
    "server": {"cli"},
    "cli": {"ledger", "projections", "runtime", "server"},
    "transparency": {"ledger", "projections", "runtime", "server", "cli", "ledger_api"},
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offends(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_none_of_what_it_must_not_know(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            {m for m in imported_modules(path) for p in FORBIDDEN[package] if offends(m, p)}
        )
        for path in (ROOT / package).rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}
