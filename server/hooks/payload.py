"""A webhook's JSON object, read strictly: every accessor checks presence and type.

A payload comes from the network, so a field of the wrong type is refused rather than
coerced (``"number": "7"`` is malformed, ``true`` is not a number) and every refusal is
:class:`~ledger.errors.InvalidArgument` naming the field's path, never its value. Text a
workflow acts on (refs, shas, URLs) must be plausible as it is; free text a person reads
(messages, names) is shortened to a bound instead.
"""

from __future__ import annotations

import re
from typing import NoReturn

from ledger.errors import InvalidArgument

MAX_EXACT_CHARS = 1000  # a ref, a URL, a repository name: refused beyond this
MAX_MESSAGE_CHARS = 2000  # a commit message: truncated beyond this
MAX_NAME_CHARS = 200  # an author or a pusher: truncated beyond this
MAX_NUMBER = 2**63 - 1  # pull request numbers, project ids: what storage can hold
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object names


class Payload:
    """One JSON object of a payload and where it sits (``pull_request.head``)."""

    __slots__ = ("_data", "_path", "_provider")

    def __init__(self, data: dict[str, object], provider: str, path: str = "") -> None:
        self._data = data
        self._provider = provider
        self._path = path

    def has(self, name: str) -> bool:
        """Whether the field is present and not null."""
        return self._data.get(name) is not None

    def text(self, name: str) -> str:
        """Non-empty printable text of at most :data:`MAX_EXACT_CHARS`, used as it is."""
        value = self._get(name)
        if not isinstance(value, str):
            self.refuse(name, "must be a string")
        if not 0 < len(value) <= MAX_EXACT_CHARS or not value.isprintable():
            self.refuse(name, f"must be 1 to {MAX_EXACT_CHARS} printable characters")
        return value

    def prose(self, name: str, limit: int) -> str:
        """Free text (may be empty), truncated to ``limit`` characters; characters that
        UTF-8 cannot encode (lone surrogates) are replaced."""
        value = self._get(name)
        if not isinstance(value, str):
            self.refuse(name, "must be a string")
        clean = value.encode(errors="replace").decode()
        return clean[:limit]

    def sha(self, name: str) -> str:
        """A full commit id in lower-case hex."""
        value = self._get(name)
        if not isinstance(value, str) or not SHA.fullmatch(value):
            self.refuse(name, "must be a full commit sha (40 or 64 lower-case hex digits)")
        return value

    def optional_sha(self, name: str) -> str | None:
        """A commit id, or None when the field is absent or null."""
        return self.sha(name) if self.has(name) else None

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            self.refuse(name, "must be true or false")
        return value

    def number(self, name: str) -> int:
        """A positive integer (JSON booleans are not numbers)."""
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.refuse(name, "must be an integer")
        if not 0 < value <= MAX_NUMBER:
            self.refuse(name, "must be a positive integer")
        return value

    def child(self, name: str) -> Payload:
        self._get(name)
        found = self.optional_child(name)
        if found is None:
            self.refuse(name, "must be an object")
        return found

    def optional_child(self, name: str) -> Payload | None:
        """The nested object, or None when the field is absent or null."""
        value = self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.refuse(name, "must be an object or null")
        return Payload(value, self._provider, self._where(name))

    def children(self, name: str) -> list[Payload]:
        """An array of objects."""
        value = self._get(name)
        if not isinstance(value, list):
            self.refuse(name, "must be an array")
        found: list[Payload] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                self.refuse(f"{name}[{index}]", "must be an object")
            found.append(Payload(item, self._provider, self._where(f"{name}[{index}]")))
        return found

    def refuse(self, name: str, why: str) -> NoReturn:
        """Raise InvalidArgument for the field ``name`` of this object."""
        raise InvalidArgument(f"malformed {self._provider} webhook: {self._where(name)} {why}")

    def _get(self, name: str) -> object:
        if name not in self._data:
            self.refuse(name, "is missing")
        return self._data[name]

    def _where(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name


def commit_text(commit: Payload | None) -> tuple[str, str]:
    """A commit's message and ``Name <email>`` author, both bounded ('' for no commit).

    GitHub, Gitea and GitLab all describe a commit as ``{message, author: {name, email}}``.
    """
    if commit is None:
        return "", ""
    author = commit.child("author")
    name = author.prose("name", MAX_NAME_CHARS)
    email = author.prose("email", MAX_NAME_CHARS) if author.has("email") else ""
    signature = f"{name} <{email}>" if email else name
    return commit.prose("message", MAX_MESSAGE_CHARS), signature[:MAX_NAME_CHARS]
