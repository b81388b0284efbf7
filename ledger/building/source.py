"""Source tarballs: received into a file while hashed, then unpacked safely for a build.

A source arrives over the network from anyone allowed to build, so nothing in it is
trusted: the upload is refused past a size limit, and unpacking refuses absolute paths,
``..``, links leading out of the directory, device files and archives that would unpack
to far more than they weigh (a "zip bomb").
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ledger.errors import InvalidArgument
from ledger.manifest import FILENAME, MAX_MANIFEST, Manifest

UPLOAD_PREFIX = "upload-"
UPLOAD_SUFFIX = ".part"
MAX_MEMBERS = 200_000
STALE_UPLOAD_SECONDS = 3600.0


class SourceUpload:
    """A source tarball being received: written to a ``.part`` file and hashed (sha256).

    ``write`` refuses to go past ``max_bytes``; ``discard`` removes the file (safe to call
    at any time, also from a cancelled request); ``keep`` moves a finished upload to where
    the build will read it. Writes and discards may come from different threads.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=UPLOAD_PREFIX, suffix=UPLOAD_SUFFIX)
        self.path = Path(name)
        self.max_bytes = max_bytes
        self.size = 0
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._lock = threading.Lock()
        self._done = False

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._done:
                raise InvalidArgument("the upload is over")
            if self.size + len(data) > self.max_bytes:
                self._remove()
                raise InvalidArgument(
                    f"the source is larger than the limit of {self.max_bytes} bytes"
                )
            self._file.write(data)
            self._hash.update(data)
            self.size += len(data)

    def finish(self, expected_size: int = 0, expected_digest: str = "") -> str:
        """Close the file; check what the client announced (when it did). The digest."""
        with self._lock:
            self._file.close()
        if self.size == 0:
            self.discard()
            raise InvalidArgument("the source is empty: send an image reference or source chunks")
        if expected_size and expected_size != self.size:
            self.discard()
            raise InvalidArgument(
                f"the upload ended after {self.size} of the {expected_size} bytes announced"
            )
        if expected_digest and expected_digest.lower() != self.digest:
            self.discard()
            raise InvalidArgument("the source's sha256 digest is not the one announced")
        return self.digest

    def keep(self, path: Path) -> None:
        """Move the finished upload to ``path`` (it is the caller's file from now on)."""
        with self._lock:
            self._file.close()
            os.replace(self.path, path)
            self._done = True

    def discard(self) -> None:
        with self._lock:
            self._remove()

    def _remove(self) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        self.path.unlink(missing_ok=True)


def remove_stale_uploads(directory: Path, older_than: float = STALE_UPLOAD_SECONDS) -> None:
    """Delete uploads a crashed process left behind (not ones another process is receiving)."""
    if not directory.is_dir():
        return
    cutoff = time.time() - older_than
    for path in directory.glob(f"{UPLOAD_PREFIX}*{UPLOAD_SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue


def unpack(tarball: Path, into: Path, max_bytes: int, max_members: int = MAX_MEMBERS) -> None:
    """Unpack a gzipped tarball into the directory ``into``; refuse anything unsafe.

    Raises :class:`InvalidArgument` saying what was refused; ``into`` may then hold part of
    the source and is the caller's to remove.
    """
    try:
        with tarfile.open(tarball, mode="r:gz") as archive:
            members = _checked(archive, max_bytes, max_members)
            archive.extractall(into, members=members, filter="data")
    except tarfile.FilterError as error:
        raise InvalidArgument(f"the source tarball is refused: {error}") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise InvalidArgument(f"the source is not a readable .tar.gz: {error}") from None


def _checked(
    archive: tarfile.TarFile, max_bytes: int, max_members: int
) -> Iterator[tarfile.TarInfo]:
    total = 0
    for count, member in enumerate(archive, start=1):
        if count > max_members:
            raise InvalidArgument(f"the source has more than {max_members} files")
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise InvalidArgument(f"the source tarball is refused: {member.name!r} leaves the root")
        if member.issparse():
            raise InvalidArgument(f"the source tarball is refused: {member.name!r} is sparse")
        total += member.size
        if total > max_bytes:
            raise InvalidArgument(f"the source unpacks to more than {max_bytes} bytes")
        yield member


def read_manifest(root: Path) -> Manifest:
    """The manifest at the source's root; without one, the default (``web`` from the
    root Dockerfile). An invalid manifest raises :class:`InvalidArgument` naming the key."""
    path = root / FILENAME
    if not path.exists() and not path.is_symlink():
        return Manifest.default()
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        raise InvalidArgument(f"{FILENAME} must be a file inside the source")
    with resolved.open("rb") as handle:
        data = handle.read(MAX_MANIFEST + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{FILENAME} is not UTF-8 text") from None
    return Manifest.parse(text)
