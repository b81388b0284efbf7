"""The backup file: gzip'd JSON lines, the same for SQLite and PostgreSQL ledgers.

::

    {"format": "deploy-ledger-backup", "version": 1, "ledgerd": …, "backend": …,
     "created": …, "origin": …, "first_position": …, "last_position": …, "count": …,
     "checkpoint": "<signed note>"}                                    the header
    {"position": 17, "originator_id": "…", "originator_version": 3,
     "topic": "ledger:EnvChanged", "state": "<base64>", "leaf": "<base64>"}   one per event
    {"end": true, "count": …, "sha256": "<hex>"}                       the trailer

Each event is the stored record exactly (``position`` is its log position, the
notification id; ``state`` the stored bytes, still encrypted), in log order, with the hash
of its leaf in the source's Merkle tree (``leaf``: used only to name the first bad event
when a restore does not verify, never trusted). The trailer's digest is the SHA-256 of
every line before it, so a damaged or cut file is told apart from a forged one; a forged
one (digest recomputed) is what the signed checkpoint catches.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.errors import InvalidArgument

FORMAT = "deploy-ledger-backup"
VERSION = 1
COMPRESSION = 1  # states are encrypted, so they do not compress: gzip for the CRC, fast
DAMAGED = (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError)


@dataclass(frozen=True)
class Header:
    """What the file holds; ``checkpoint`` signs exactly its ``count`` events."""

    ledgerd: str
    backend: str
    created: str
    origin: str
    first_position: int
    last_position: int
    count: int
    checkpoint: str


@dataclass(frozen=True)
class Record:
    """One stored event as the event store holds it."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    leaf: bytes  # its leaf hash in the source's tree (a hint, not trusted)

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "originator_id": str(self.originator_id),
            "originator_version": self.originator_version,
            "topic": self.topic,
            "state": base64.b64encode(self.state).decode("ascii"),
            "leaf": base64.b64encode(self.leaf).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls(
            position=_int(data["position"]),
            originator_id=UUID(str(data["originator_id"])),
            originator_version=_int(data["originator_version"]),
            topic=_str(data["topic"]),
            state=base64.b64decode(_str(data["state"]), validate=True),
            leaf=base64.b64decode(_str(data["leaf"]), validate=True),
        )


class BackupWriter:
    """Writes a backup to a temporary file beside ``path`` and renames it into place on
    :meth:`finish`: an interrupted or failed backup leaves no partial file behind."""

    def __init__(self, path: Path, header: Header) -> None:
        self.path = path
        self.count = 0
        self._temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(self._temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._raw = os.fdopen(descriptor, "wb")
        self._file: gzip.GzipFile = gzip.GzipFile(
            filename="", mode="wb", fileobj=self._raw, compresslevel=COMPRESSION, mtime=0
        )
        self._digest = hashlib.sha256()
        self._line({"format": FORMAT, "version": VERSION, **asdict(header)})

    def write(self, records: Sequence[Record]) -> None:
        lines = b"".join(_line(record.to_json()) for record in records)
        self._digest.update(lines)
        self._file.write(lines)
        self.count += len(records)

    def finish(self) -> int:
        """Write the trailer, make the file durable and put it in place; its size."""
        trailer = {"end": True, "count": self.count, "sha256": self._digest.hexdigest()}
        self._file.write(json.dumps(trailer).encode() + b"\n")
        self._file.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._temporary, self.path)
        return self.path.stat().st_size

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(OSError):
            self._raw.close()
        with contextlib.suppress(FileNotFoundError):
            self._temporary.unlink()

    def _line(self, data: dict[str, Any]) -> None:
        line = _line(data)
        self._digest.update(line)
        self._file.write(line)


class BackupReader:
    """Reads a backup: the header at once, then :meth:`records` in batches, whose end
    checks the trailer. Every flaw is one ``InvalidArgument`` line naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file: gzip.GzipFile = gzip.open(path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as error:
            raise InvalidArgument(f"cannot read {path}: {error.strerror or error}") from None
        self._digest = hashlib.sha256()
        self._before_last = ""
        self.header = self._header()

    def close(self) -> None:
        self._file.close()

    def records(self, batch: int) -> Iterator[list[Record]]:
        """The events in batches of ``batch``; raises at the end if the trailer is missing
        or does not match what was read."""
        page: list[Record] = []
        count = 0
        while True:
            data = self._next("an event or the end")
            if "end" in data:
                break
            page.append(self._record(data, count))
            count += 1
            if len(page) == batch:
                yield page
                page = []
        if page:
            yield page
        self._check_trailer(data, count)

    def _header(self) -> Header:
        data = self._next("the header")
        if data.get("format") != FORMAT:
            raise InvalidArgument(f"{self.path} is not a Deploy Ledger backup")
        if data.get("version") != VERSION:
            raise InvalidArgument(
                f"{self.path} is a backup of format version {data.get('version')!r}; "
                f"this ledgerd reads version {VERSION}"
            )
        try:
            header = Header(**{k: v for k, v in data.items() if k not in ("format", "version")})
            _int(header.count), _int(header.first_position), _int(header.last_position)
            _str(header.checkpoint), _str(header.origin)
        except DAMAGED as error:
            raise self._damaged(f"a bad header ({error})") from None
        return header

    def _record(self, data: dict[str, Any], index: int) -> Record:
        try:
            record = Record.from_json(data)
        except (*DAMAGED, binascii.Error) as error:
            raise self._damaged(f"event {index + 1} is malformed ({error})") from None
        return record

    def _check_trailer(self, data: dict[str, Any], count: int) -> None:
        if data.get("count") != count or data.get("sha256") != self._before_last:
            raise self._damaged("its content does not match its trailer's digest")
        if count != self.header.count:
            raise self._damaged(f"it holds {count} events, its header says {self.header.count}")
        try:
            self._file.readline()
            extra = self._file.read(1)
        except DAMAGED as error:
            raise self._damaged(str(error)) from None
        if extra:
            raise self._damaged("there is data after its trailer")

    def _next(self, what: str) -> dict[str, Any]:
        self._before_last = self._digest.hexdigest()  # what a trailer read now covers
        try:
            line = self._file.readline()
        except gzip.BadGzipFile as error:
            raise self._damaged(str(error)) from None
        except EOFError:
            raise self._truncated() from None
        except DAMAGED as error:
            raise self._damaged(str(error)) from None
        if not line.endswith(b"\n"):
            raise self._truncated()
        self._digest.update(line)
        try:
            data = json.loads(line)
        except ValueError:
            raise self._damaged(f"{what} is not valid JSON") from None
        if not isinstance(data, dict):
            raise self._damaged(f"{what} is not a JSON object")
        return data

    def _damaged(self, why: str) -> InvalidArgument:
        return InvalidArgument(f"the backup {self.path} is damaged: {why}")

    def _truncated(self) -> InvalidArgument:
        return InvalidArgument(f"the backup {self.path} is truncated (it ends before its trailer)")


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def _int(value: object) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a non-negative integer")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a string")
    return value
