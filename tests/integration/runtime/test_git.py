"""GitFetcher against real repositories: a bare repository made by each test under tmp_path
(pushed to from a working clone) and, for credentials, a tiny HTTP server."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ledger.errors import InvalidArgument
from ledger.workflows.ports import FetchFailed
from runtime.git import GitFetcher

SECRET = "s3cr3t-token"
CREDENTIALS = f"alice:{SECRET}"


@dataclass
class Origin:
    """A bare repository (``url``) and a working clone that commits and pushes to it."""

    url: str
    work: Path
    home: Path

    def git(self, *args: str) -> str:
        env = {"HOME": str(self.home), "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ["PATH"]}
        done = subprocess.run(
            ["git", "-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com", *args],
            cwd=self.work,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def commit(self, message: str, files: dict[str, str], branch: str = "main") -> str:
        """Commit ``files`` with ``message``, push it to ``branch`` and return its sha."""
        for name, text in files.items():
            (self.work / name).write_text(text)
        self.git("add", "--all")
        self.git("commit", "-q", "-m", message)
        self.git("push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    bare = tmp_path / "origin.git"
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    made = Origin(url=str(bare), work=work, home=home)
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    made.git("init", "-q")
    made.git("remote", "add", "origin", str(bare))
    return made


@pytest.fixture
def into(tmp_path: Path) -> Path:
    directory = tmp_path / "checkout"
    directory.mkdir()
    return directory


@pytest.fixture
def fetcher() -> GitFetcher:
    return GitFetcher(timeout=60)


class _Refuses(BaseHTTPRequestHandler):
    """Records the Authorization header of every request and answers 401."""

    seen: list[str | None]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, list[str | None]]]:
    """The URL of a repository on an HTTP server that refuses everyone, and the
    Authorization headers it received."""
    seen: list[str | None] = []
    handler = type("Handler", (_Refuses,), {"seen": seen})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/shop.git", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_head_is_the_sha_the_branch_points_at(origin: Origin, fetcher: GitFetcher) -> None:
    origin.commit("first", {"a.txt": "1"})
    sha = origin.commit("second", {"a.txt": "2"})
    origin.commit("elsewhere", {"b.txt": "3"}, branch="feature")

    assert fetcher.head(origin.url, "main") == sha


def test_head_of_a_missing_branch_is_empty(origin: Origin, fetcher: GitFetcher) -> None:
    origin.commit("first", {"a.txt": "1"})

    assert fetcher.head(origin.url, "no-such-branch") == ""


def test_fetch_checks_out_exactly_an_older_commit_with_its_provenance_and_no_git_dir(
    origin: Origin, fetcher: GitFetcher, into: Path
) -> None:
    message = "Add the shop\n\nIt sells things.\nSecond line of the body."
    older = origin.commit(message, {"app.txt": "v1", "old.txt": "gone later"})
    (origin.work / "old.txt").unlink()
    origin.commit("v2", {"app.txt": "v2"})

    commit = fetcher.fetch(origin.url, older, into)

    assert commit.sha == older
    assert commit.author == "Ada Lovelace <ada@example.com>"
    assert commit.message == message
    assert datetime.fromisoformat(commit.committed_at).tzinfo is not None  # git's %cI
    assert (into / "app.txt").read_text() == "v1"
    assert (into / "old.txt").read_text() == "gone later"
    assert sorted(path.name for path in into.iterdir()) == ["app.txt", "old.txt"]


def test_fetch_of_the_head_of_a_file_url_checks_out_its_tree(
    origin: Origin, fetcher: GitFetcher, into: Path
) -> None:
    origin.commit("v1", {"app.txt": "v1"})
    head = origin.commit("v2", {"app.txt": "v2"})

    commit = fetcher.fetch(f"file://{origin.url}", head, into)

    assert commit.sha == head
    assert (into / "app.txt").read_text() == "v2"
    assert not (into / ".git").exists()


def test_an_unknown_sha_fails_with_a_clear_reason(
    origin: Origin, fetcher: GitFetcher, into: Path
) -> None:
    origin.commit("v1", {"app.txt": "v1"})
    unknown = "0123456789abcdef0123456789abcdef01234567"

    with pytest.raises(FetchFailed, match=f"commit {unknown} was not found"):
        fetcher.fetch(origin.url, unknown, into)
    assert list(into.iterdir()) == []


def test_an_unreachable_repository_fails_without_leaking_credentials(
    fetcher: GitFetcher, into: Path
) -> None:
    with pytest.raises(FetchFailed) as failure:
        fetcher.fetch("http://127.0.0.1:1/shop.git", "a" * 40, into, credentials=CREDENTIALS)

    message = str(failure.value)
    assert "127.0.0.1" in message
    assert SECRET not in message
    assert "\n" not in message
    assert len(message) <= 350


def test_a_password_in_the_repository_url_is_not_repeated_in_the_reason(
    fetcher: GitFetcher,
) -> None:
    with pytest.raises(FetchFailed) as failure:
        fetcher.head(f"http://alice:{SECRET}@127.0.0.1:1/shop.git", "main")

    assert SECRET not in str(failure.value)


def test_a_short_sha_is_refused(origin: Origin, fetcher: GitFetcher, into: Path) -> None:
    sha = origin.commit("v1", {"app.txt": "v1"})

    with pytest.raises(InvalidArgument, match="40-character"):
        fetcher.fetch(origin.url, sha[:12], into)


def test_a_repository_url_starting_with_a_dash_is_refused(
    fetcher: GitFetcher, into: Path, tmp_path: Path
) -> None:
    planted = tmp_path / "planted"

    with pytest.raises(InvalidArgument):
        fetcher.head(f"--upload-pack=touch {planted}", "main")
    with pytest.raises(InvalidArgument):
        fetcher.fetch(f"--upload-pack=touch {planted}", "a" * 40, into)
    assert not planted.exists()


@pytest.mark.parametrize("url", ["ext::sh -c true", "fd::3", "git://example.com/x"])
def test_transports_other_than_file_http_and_ssh_are_refused(fetcher: GitFetcher, url: str) -> None:
    with pytest.raises(InvalidArgument):
        fetcher.head(url, "main")


def test_credentials_reach_the_server_as_a_basic_authorization_header(
    fetcher: GitFetcher, refusing_server: tuple[str, list[str | None]]
) -> None:
    url, seen = refusing_server

    with pytest.raises(FetchFailed) as failure:
        fetcher.head(url, "main", credentials=CREDENTIALS)

    expected = "Basic " + base64.b64encode(CREDENTIALS.encode()).decode()
    assert expected in seen
    assert SECRET not in str(failure.value)
    assert base64.b64encode(CREDENTIALS.encode()).decode() not in str(failure.value)


def test_a_bare_token_is_sent_under_the_token_user_name(
    fetcher: GitFetcher, refusing_server: tuple[str, list[str | None]]
) -> None:
    url, seen = refusing_server

    with pytest.raises(FetchFailed):
        fetcher.head(url, "main", credentials=SECRET)

    assert "Basic " + base64.b64encode(f"x-access-token:{SECRET}".encode()).decode() in seen
