"""``cli`` is a gRPC client only: it imports the generated API, never the server side."""

from __future__ import annotations

import ast
from pathlib import Path

import cli

FORBIDDEN = {"ledger", "projections", "runtime", "server"}


def imported_top_level_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_cli_imports_none_of_ledger_projections_runtime_or_server() -> None:
    root = Path(cli.__file__).parent
    offenders = {
        str(path.relative_to(root)): sorted(imported_top_level_modules(path) & FORBIDDEN)
        for path in root.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
