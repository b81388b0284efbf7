"""Build hook: puts the repository's ``cli/`` and ``transparency/`` and the gRPC code
generated from ``protos/`` into the ``ledgerctl`` wheel.

The sources are found at the repository root (two levels up), or at the root of an sdist
made by this hook (which carries copies of them). ``ledger_api/`` is always generated
here with ``grpc_tools.protoc`` (a build requirement), so a checkout where ``make proto``
never ran builds too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.config import BuilderConfig
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGES = ("cli", "transparency")
PROTOS = "protos"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


class LedgerctlBuildHook(BuildHookInterface[BuilderConfig]):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        source = self._source_root()
        self._staging = Path(tempfile.mkdtemp(prefix="ledgerctl-build-"))
        sdist = self.target_name == "sdist"
        names = [*PACKAGES, PROTOS] if sdist else [*PACKAGES]
        for name in names:
            shutil.copytree(source / name, self._staging / name, ignore=SKIP)
        if not sdist:
            self._generate_api(source / PROTOS, self._staging)
            names.append("ledger_api")
        for name in names:
            build_data["force_include"][str(self._staging / name)] = name

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)

    def _source_root(self) -> Path:
        """Where cli/, transparency/ and protos/ are: this sdist, or the repository."""
        here = Path(self.root).resolve()
        for root in (here, here.parents[1]):
            if all((root / name).is_dir() for name in (*PACKAGES, PROTOS)):
                return root
        raise RuntimeError(f"cannot find {', '.join(PACKAGES)} and {PROTOS}/ above {here}")

    @staticmethod
    def _generate_api(protos: Path, out: Path) -> None:
        """``ledger_api/`` from the .proto files, as ``make proto`` makes it (no stubs)."""
        files = sorted(str(p.relative_to(protos)) for p in protos.rglob("*.proto"))
        command = [sys.executable, "-m", "grpc_tools.protoc", f"-I{protos}"]
        command += [f"--python_out={out}", f"--grpc_python_out={out}", *files]
        subprocess.run(command, check=True, cwd=protos)
        for package in {out / Path(f).parent for f in files} | {out / "ledger_api"}:
            while package != out:
                (package / "__init__.py").touch()
                package = package.parent
