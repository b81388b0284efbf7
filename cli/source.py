"""A build's source directory packed as ``docker build`` would send it: a ``.tar.gz``.

``.dockerignore`` is applied with Docker's own matcher (the docker SDK's), so what is left
out here is exactly what Docker leaves out. ``ledger.yml`` and the Dockerfile(s) it names
are always sent, even when ignored: without them there is nothing to build.
"""

from __future__ import annotations

import gzip
import hashlib
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MANIFEST = "ledger.yml"  # the name ledgerd reads (ledger.manifest.FILENAME)
DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
READ_SIZE = 1024 * 1024
PROGRESS_INTERVAL = 0.1


@dataclass(frozen=True)
class PackedSource:
    """What was packed: the tarball's size in bytes, its sha256 (hex) and its file count."""

    size: int
    digest: str
    files: int


def pack(directory: Path, into: IO[bytes]) -> PackedSource:
    """Write the source of ``directory`` into ``into`` as a gzipped tarball: the same
    files (names, contents, modes, times) give the same bytes."""
    from docker.utils.build import create_archive  # costly import: only when building

    files = source_files(directory)
    with tempfile.TemporaryFile() as plain:
        create_archive(str(directory.resolve()), files=files, fileobj=plain, gzip=False)
        plain.seek(0)
        # A gzip header holds a time, the moment of compression unless given: 0 makes the
        # same directory pack to the same bytes, so a build sent again with the same
        # request id is the same request (and its digest names its content alone).
        with gzip.GzipFile(filename="", mode="wb", fileobj=into, mtime=0) as zipped:
            shutil.copyfileobj(plain, zipped, READ_SIZE)
    into.seek(0)
    digest = hashlib.sha256()
    size = 0
    while block := into.read(READ_SIZE):
        digest.update(block)
        size += len(block)
    into.seek(0)
    return PackedSource(size=size, digest=digest.hexdigest(), files=len(files))


def source_files(directory: Path) -> list[str]:
    """The paths (relative, sorted) that go into the tarball."""
    from docker.utils.build import exclude_paths  # costly import: only when building

    patterns = dockerignore_patterns(directory)
    patterns += [f"!{path}" for path in always_sent(directory)]
    return sorted(exclude_paths(str(directory.resolve()), patterns, dockerfile=DOCKERFILE))


def dockerignore_patterns(directory: Path) -> list[str]:
    """The patterns of ``.dockerignore``, read as Docker reads them (comments skipped)."""
    path = directory / DOCKERIGNORE
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(errors="replace").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def always_sent(directory: Path) -> list[str]:
    """``ledger.yml`` and every Dockerfile it names (``build`` dir + ``dockerfile``).

    The manifest is read leniently here: ledgerd validates it and explains what is wrong.
    """
    paths = {MANIFEST, DOCKERFILE}
    for spec in _services(directory / MANIFEST):
        if spec.get("image"):
            continue
        build = spec.get("build", ".")
        if isinstance(build, dict):
            build = build.get("path", ".")
        dockerfile = spec.get("dockerfile") or DOCKERFILE
        if isinstance(build, str) and isinstance(dockerfile, str):
            paths.add(posixpath.normpath(posixpath.join(build.strip() or ".", dockerfile)))
    return sorted(path for path in paths if not path.startswith(("..", "/")))


def _services(manifest: Path) -> list[dict[str, Any]]:
    import yaml  # costly import: only when building

    try:
        data = yaml.safe_load(manifest.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return []
    return [spec for spec in services.values() if isinstance(spec, dict)]


def human_size(size: float) -> str:
    """``532 B``, ``12.3 KiB``, ``4.0 MiB``, ``1.2 GiB``."""
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KiB", "MiB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GiB"


class UploadProgress:
    """Shows an upload on ``stream`` (stderr): one updating line on a terminal, else a line
    when it starts and one when it ends (so logs of CI jobs stay readable)."""

    def __init__(
        self,
        stream: IO[str],
        total: int,
        label: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.clock = clock
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._shown_at = -PROGRESS_INTERVAL

    def start(self) -> None:
        if not self.interactive:
            self._line(f"uploading {self.label} ({human_size(self.total)})\n")

    def __call__(self, sent: int) -> None:
        if not self.interactive or self.clock() - self._shown_at < PROGRESS_INTERVAL:
            return
        self._shown_at = self.clock()
        percent = 100 * sent // self.total if self.total else 100
        done = f"{human_size(sent)} / {human_size(self.total)}"
        self._line(f"\ruploading {self.label}: {done} ({percent}%)\x1b[K")

    def done(self) -> None:
        total = human_size(self.total)
        if self.interactive:
            self._line(f"\ruploaded {self.label}: {total}\x1b[K\n")
        else:
            self._line(f"uploaded {total}\n")

    def _line(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
