"""The ``git`` CLI as the :class:`~ledger.workflows.ports.SourceFetcher` of workflows.

Every call runs ``git`` without a shell, with a timeout, in a minimal environment: no
terminal prompts, no system or user configuration (``HOME`` is a private temporary
directory), no transports but file, HTTP(S) and SSH. Credentials travel to git in the
child's environment only (``http.extraHeader`` via ``GIT_CONFIG_*``), never in argv, which
any user of the machine can read with ``ps``, and never in a URL. Error messages are built
from git's stderr with the credentials removed.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from ledger.errors import InvalidArgument
from ledger.workflows.ports import Commit, FetchFailed

_SHA = re.compile(r"[0-9a-f]{40}")
_ALLOWED_URL = re.compile(
    r"(https?|ssh|file)://\S+"  # URLs of the allowed transports
    r"|[A-Za-z0-9._-]+@[A-Za-z0-9][A-Za-z0-9.-]*:\S+"  # scp-like SSH: user@host:path
    r"|/.+"  # an absolute local path
)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
# What servers answer when they refuse a commit that no ref advertises.
_REFUSED_BY_SHA = ("not our ref", "unadvertised object", "couldn't find remote ref")
_FALLBACK_DEPTH = 50
_TOKEN_USER = "x-access-token"  # the user name sent with a bare token (GitHub's convention)
_PASSED_THROUGH = ("PATH", "SSH_AUTH_SOCK", "http_proxy", "https_proxy", "no_proxy")
_MAX_REASON = 300
# The lines git adds after the real reason when it cannot read a remote.
_BOILERPLATE = frozenset(
    {
        "Could not read from remote repository.",
        "Please make sure you have the correct access rights",
        "and the repository exists.",
    }
)


class GitFetcher:
    """Reads branches and commits of remote repositories with the ``git`` CLI.

    Only the commit's own tree is fetched: submodules are not fetched. ``credentials``
    (``"user:token"``, or a bare token sent as user ``x-access-token``) are for HTTP(S)
    repositories; SSH uses the server's own keys or agent.
    """

    def __init__(self, timeout: float = 300.0) -> None:
        self._timeout = timeout

    def head(self, repository: str, branch: str, credentials: str = "") -> str:
        """The sha ``branch`` points at now, or "" if the repository has no such branch."""
        _check_repository(repository)
        if not branch or branch.startswith("-"):
            raise InvalidArgument(f"invalid branch name: {branch!r}")
        ref = f"refs/heads/{branch}"
        with _private_home() as home:
            out = self._git(["ls-remote", "--heads", "--", repository, ref], home, credentials)
        for line in out.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return ""

    def fetch(self, repository: str, sha: str, into: Path, credentials: str = "") -> Commit:
        """Check out exactly commit ``sha`` (40 hex characters) into the empty directory
        ``into``, shallowly, and return its provenance; ``into/.git`` is removed after, so
        a build sees only the tree."""
        _check_repository(repository)
        sha = sha.lower()
        if not _SHA.fullmatch(sha):
            raise InvalidArgument(f"a commit must be named by its full 40-character sha: {sha!r}")
        if not into.is_dir() or any(into.iterdir()):
            raise InvalidArgument(f"not an empty directory: {into}")
        with _private_home() as home:
            try:
                self._git(["init", "-q"], home, cwd=into)
                self._fetch_commit(repository, sha, home, credentials, into)
                self._git(["checkout", "-q", "--detach", sha], home, cwd=into)
                return self._read_commit(sha, home, into)
            finally:
                shutil.rmtree(into / ".git", ignore_errors=True)

    def _fetch_commit(
        self, repository: str, sha: str, home: Path, credentials: str, into: Path
    ) -> None:
        """Fetch ``sha`` alone (protocol v2 lets a client ask for any reachable commit);
        from a server that refuses that, fetch the recent history of every branch."""
        fetch = ["fetch", "-q", "--no-tags", "--no-recurse-submodules"]
        try:
            self._git([*fetch, "--depth", "1", "--", repository, sha], home, credentials, into)
            return
        except FetchFailed as refused:
            if not any(sign in str(refused) for sign in _REFUSED_BY_SHA):
                raise
        heads = "+refs/heads/*:refs/remotes/origin/*"
        self._git(
            [*fetch, f"--depth={_FALLBACK_DEPTH}", "--", repository, heads], home, credentials, into
        )
        try:
            self._git(["cat-file", "-e", f"{sha}^{{commit}}"], home, cwd=into)
        except FetchFailed:
            raise FetchFailed(
                f"commit {sha} was not found: the server does not serve it by sha and it is "
                f"not among the last {_FALLBACK_DEPTH} commits of any branch"
            ) from None

    def _read_commit(self, sha: str, home: Path, into: Path) -> Commit:
        """The checked-out commit's provenance, after making sure it is the one asked for."""
        # %cI: the committer date in strict ISO 8601 (the deploy metrics' lead time base).
        out = self._git(["log", "-1", "--format=%H%x00%an <%ae>%x00%cI%x00%B"], home, cwd=into)
        checked_out, author, committed_at, message = out.split("\x00", 3)
        if checked_out != sha:
            raise FetchFailed(f"checked out {checked_out} instead of {sha}")
        return Commit(
            sha=sha, author=author, message=message.rstrip("\n"), committed_at=committed_at
        )

    def _git(
        self, args: Sequence[str], home: Path, credentials: str = "", cwd: Path | None = None
    ) -> str:
        """Run ``git ARGS`` and return its stdout; :class:`FetchFailed` with a clean
        one-line reason if it fails, times out, or git is not installed."""
        env = _environment(home, credentials)
        if shutil.which("git", path=env.get("PATH")) is None:
            raise FetchFailed("git is not installed on the server")
        process = subprocess.Popen(
            ["git", "-c", "protocol.version=2", *args],
            cwd=cwd or home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # its own process group, so a timeout ends its helpers too
        )
        try:
            out, err = process.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise FetchFailed(f"git {args[0]} timed out after {self._timeout:g} s") from None
        if process.returncode != 0:
            reason = _reason(err, credentials) or f"exit status {process.returncode}"
            raise FetchFailed(f"git {args[0]} failed: {reason}")
        return out


def _check_repository(repository: str) -> None:
    """Refuse what git would read as an option or run as a command (``ext::``, ``fd::``):
    only HTTP(S), SSH (both spellings), ``file://`` URLs and absolute paths are allowed."""
    if repository.startswith("-") or not _ALLOWED_URL.fullmatch(repository):
        raise InvalidArgument(
            "a repository must be an https://, http://, ssh://, user@host:path or file:// "
            f"URL or an absolute path: {_scrub(repository, '')!r}"
        )


@contextmanager
def _private_home() -> Iterator[Path]:
    """An empty directory for ``HOME`` (and the working directory of ``ls-remote``), so
    no user configuration, credential helper or hook of this machine is used."""
    with tempfile.TemporaryDirectory(prefix="ledger-git-") as home:
        yield Path(home)


def _environment(home: Path, credentials: str) -> dict[str, str]:
    """The whole environment of a git child: nothing of ours leaks in (no ``GIT_DIR``)."""
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(home),
        LC_ALL="C",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_CEILING_DIRECTORIES=str(home.parent),
        GIT_ALLOW_PROTOCOL="file:http:https:ssh",
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
    )
    if credentials:
        env.update(_authorization(credentials))
    else:
        env["GIT_ASKPASS"] = "/bin/true"
    return env


def _authorization(credentials: str) -> Mapping[str, str]:
    """``http.extraHeader`` carrying HTTP Basic credentials, as environment variables."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {_basic(credentials)}",
    }


def _basic(credentials: str) -> str:
    """The Basic token of ``user:token``, or of a bare token under ``x-access-token``."""
    pair = credentials if ":" in credentials else f"{_TOKEN_USER}:{credentials}"
    return base64.b64encode(pair.encode()).decode("ascii")


def _reason(stderr: str, credentials: str) -> str:
    """The last meaningful line of git's stderr, without credentials, at most 300 chars."""
    lines = [_unprefixed(line) for line in _scrub(stderr, credentials).splitlines()]
    meaningful = [line for line in lines if line and line not in _BOILERPLATE]
    if not meaningful:
        return ""
    last = meaningful[-1]
    return last if len(last) <= _MAX_REASON else last[: _MAX_REASON - 1] + "…"


def _unprefixed(line: str) -> str:
    """A line of stderr without git's ``fatal:``/``error:`` label, or "" for a hint."""
    line = line.strip()
    if line.startswith("hint:"):
        return ""
    return line.removeprefix("fatal: ").removeprefix("error: ")


def _scrub(text: str, credentials: str) -> str:
    """``text`` with ``user:password@`` of URLs and every form of ``credentials`` removed."""
    text = _URL_USERINFO.sub("", text)
    if credentials:
        secrets = {credentials, credentials.partition(":")[2], _basic(credentials)}
        for secret in sorted(filter(None, secrets), key=len, reverse=True):
            text = text.replace(secret, "***")
    return text
