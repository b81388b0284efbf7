"""What a person reads first about a release: what it is, why it exists, and how its env
differs from another release's, as rules of the read side (every entry point words a
release the same way, none decides it in a template).

``what_it_is`` names a release like a deploy log does ("v12 · Deploy 1a2b3c Fix checkout
by alice"): a build from git is its commit (short sha, first line of the message, a link
to the commit when the repository has a known web page), any other build its image and
description. ``env_changes`` lists the keys a promotion would add, change or remove, with
values masked unless revealed (the reveal rule decides before any value is read).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ledger.domain.release import ReleaseDiff, ReleaseReason
from ledger.views import ReleaseView

SHORT_SHA = 7
SHORT_DIGEST = 12
REASONS = {ReleaseReason.BUILD.value: "Deploy", ReleaseReason.ENV.value: "Env change"}


@dataclass(frozen=True)
class ReleaseIdentity:
    """How a release introduces itself: ``reason`` ("Deploy", "Env change", "Rollback to
    v3"), ``title`` (the commit's first line, else the build's description, else the
    image), the short ``sha`` and its ``commit_url`` ('' when not from git or not
    linkable), the short ``image`` (the full reference is the release's ``image``)."""

    reason: str
    title: str
    sha: str
    commit_url: str
    image: str
    repository: str
    returns_to: int = 0  # the version a rollback release returns to (0: not a rollback)


@dataclass(frozen=True)
class EnvChange:
    """One env key a promotion changes: ``kind`` is added, changed or removed; ``before``
    and ``after`` as shown (masked unless revealed; '' where the key is absent)."""

    key: str
    kind: str
    before: str
    after: str


def first_line(text: str) -> str:
    """The first non-blank line of a (commit) message, stripped; '' for none."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def short_image(reference: str) -> str:
    """An image reference as people quote it: its name and tag (or short digest), without
    the registry and path (``registry.example.com/team/shop:1.2`` → ``shop:1.2``)."""
    if not reference:
        return ""
    name, _, digest = reference.partition("@")
    short = name.rsplit("/", 1)[-1]
    if digest:
        algorithm, _, value = digest.partition(":")
        short += f"@{value[:SHORT_DIGEST] if value else algorithm[:SHORT_DIGEST]}"
    return short


def public_repository(repository: str) -> str:
    """A repository URL safe to show: any user name or token in it left out."""
    parts = urlsplit(repository)
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return parts._replace(netloc=host).geturl()
    return repository


def commit_url(repository: str, sha: str) -> str:
    """The web page of commit ``sha`` when ``repository`` is an https URL of a hosting
    site's project (``https://host/owner/name[.git]``): GitLab's ``/-/commit/<sha>`` on a
    host named gitlab, else ``/commit/<sha>`` (GitHub, Gitea, Forgejo). '' otherwise
    (a file:// or ssh URL has no page to link to)."""
    parts = urlsplit(public_repository(repository))
    path = parts.path.rstrip("/").removesuffix(".git")
    if parts.scheme != "https" or not parts.hostname or not sha:
        return ""
    if len([segment for segment in path.split("/") if segment]) < 2 or parts.query:
        return ""
    base = f"https://{parts.netloc}{path}"
    return f"{base}/-/commit/{sha}" if "gitlab" in parts.hostname else f"{base}/commit/{sha}"


def reason_of(release: ReleaseView, parent_version: int = 0) -> str:
    """Why the release exists, in words: Deploy, Env change, Rollback to v3."""
    if release.reason == ReleaseReason.ROLLBACK:
        return f"Rollback to v{parent_version}" if parent_version else "Rollback"
    return REASONS.get(release.reason, release.reason.capitalize())


def what_it_is(release: ReleaseView, parent_version: int = 0) -> ReleaseIdentity:
    """The release's identity (``parent_version``: the version a rollback returns to)."""
    commit = release.commit or {}
    sha = commit.get("sha", "")
    repository = public_repository(commit.get("repository", ""))
    image = short_image(release.image)
    if sha:
        title = first_line(commit.get("message", "")) or release.description or image
    else:
        title = first_line(release.description) or image
    return ReleaseIdentity(
        reason=reason_of(release, parent_version),
        title=title,
        sha=sha[:SHORT_SHA],
        commit_url=commit_url(repository, sha),
        image=image,
        repository=repository,
        returns_to=parent_version if release.reason == ReleaseReason.ROLLBACK else 0,
    )


def action_on(release: ReleaseView, active: ReleaseView | None, running: int = 0) -> str:
    """What a person would do with ``release``, named by what it does: "promote" (make
    this very release live: nothing is live, or it is newer than what runs, i.e. rolling
    forward), "rollback" (a new release copying its build and env, for one older than
    what runs), or '' for the live one. ``running`` is the version whose build and env
    run now: the version a live rollback returns to (so after rolling back from v3 to
    v2, v3 is rolled forward to, not "back"), else the live version."""
    if active is None:
        return "promote"
    if release.id == active.id:
        return ""
    return "promote" if release.version > (running or active.version) else "rollback"


def env_changes(
    diff: ReleaseDiff, before: dict[str, str], after: dict[str, str]
) -> list[EnvChange]:
    """The keys of ``diff`` with their values as shown (``before``/``after``: the two
    releases' env, already masked or revealed), added first, then changed, then removed."""
    rows = [EnvChange(key, "added", "", after.get(key, "")) for key in diff.added]
    rows += [
        EnvChange(key, "changed", before.get(key, ""), after.get(key, "")) for key in diff.changed
    ]
    rows += [EnvChange(key, "removed", before.get(key, ""), "") for key in diff.removed]
    return rows
