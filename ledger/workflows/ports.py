"""What workflows need from the outside world: a git client.

Implemented by ``runtime/git.py`` (the ``git`` CLI). Credentials of a private
repository are passed in, never logged, and never appear in an error's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class FetchFailed(Exception):
    """The repository could not be read (unreachable, unknown commit, refused
    credentials). The message says why in one line, with any credential removed."""


@dataclass(frozen=True)
class Commit:
    """Provenance of a fetched commit."""

    sha: str
    author: str  # "Name <email>"
    message: str  # the full message, as committed
    committed_at: str = ""  # the committer's date, RFC 3339 with its offset ('' unknown)


class SourceFetcher(Protocol):
    """Reads commits from git repositories."""

    def head(self, repository: str, branch: str, credentials: str = "") -> str:
        """The sha the branch points at now (``git ls-remote``); "" if there is no such
        branch. Raises :class:`FetchFailed` when the repository cannot be read."""

    def fetch(self, repository: str, sha: str, into: Path, credentials: str = "") -> Commit:
        """Check out exactly commit ``sha`` into the empty directory ``into`` (a shallow
        fetch; no ``.git`` is left in it) and return its provenance. Raises
        :class:`FetchFailed`."""
