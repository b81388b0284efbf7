"""Real git repositories for workflow tests: a bare repository (the "host") and a working
clone that commits and pushes, all under a test's temporary directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = ["-c", "user.name=Alice Dev", "-c", "user.email=alice@example.com"]


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


class Repository:
    """``bare`` is what a workflow fetches from (its URL: :attr:`url`); ``work`` commits."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.bare = root / "origin.git"
        self.work = root / "work"
        self.bare.mkdir(parents=True)
        git("init", "-q", "--bare", "-b", branch, str(self.bare), cwd=root)
        git("clone", "-q", str(self.bare), str(self.work), cwd=root)
        git("checkout", "-q", "-B", branch, cwd=self.work)
        self.branch = branch
        self.commit({"README": "a test repository\n"}, "Initial commit")

    @property
    def url(self) -> str:
        return f"file://{self.bare}"

    def commit(self, files: dict[str, str], message: str, branch: str = "") -> str:
        """Write ``files``, commit them on ``branch`` (default: the current one) and push;
        the new commit's sha."""
        if branch:
            self.checkout(branch)
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        current = git("rev-parse", "--abbrev-ref", "HEAD", cwd=self.work)
        git("push", "-q", "origin", current, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def checkout(self, branch: str) -> None:
        """Switch to ``branch``, creating it from the current commit if it is new."""
        known = git("branch", "--list", branch, cwd=self.work)
        git("checkout", "-q", *([] if known else ["-b"]), branch, cwd=self.work)


POST_RECEIVE = """#!{python}
# Sends each pushed branch to a workflow as a signed GitHub "push" webhook, as a git host
# would (its own delivery id per push; the signature is HMAC-SHA256 of the body).
import hashlib, hmac, json, subprocess, sys, urllib.request, uuid

URL, SECRET = {url!r}, {secret!r}
for line in sys.stdin:
    old, new, ref = line.split()
    def show(fmt):
        return subprocess.run(["git", "log", "-1", "--format=" + fmt, new],
                              capture_output=True, text=True, check=True).stdout.strip()
    payload = {{
        "ref": ref, "before": old, "after": new, "deleted": new == "0" * 40,
        "repository": {{"full_name": "acme/shop", "clone_url": {clone!r}}},
        "pusher": {{"name": "alice", "email": "alice@example.com"}},
        "head_commit": {{"id": new, "message": show("%B"),
                         "author": {{"name": show("%an"), "email": show("%ae")}}}},
    }}
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(URL, data=body, method="POST", headers={{
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature}})
    with urllib.request.urlopen(request, timeout=30) as answer:
        print("webhook:", answer.status, answer.read().decode())
"""


def install_webhook(repository: Repository, url: str, secret: str, python: str) -> None:
    """A post-receive hook in the bare repository that signs and sends each push."""
    hook = repository.bare / "hooks" / "post-receive"
    hook.write_text(
        POST_RECEIVE.format(python=python, url=url, secret=secret, clone=repository.url)
    )
    hook.chmod(0o755)
