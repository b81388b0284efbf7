"""Human views of each resource: the tables and key/value blocks commands print without
``--json``. Shared here because several commands show the same resource (a promotion
started by ``deploy``, ``releases promote`` or ``env set --promote`` looks the same)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cli import render, tables
from cli.tables import MISSING, first_line, key_values, short_sha, table, text, version, when
from ledger_api.v1 import ledger_pb2 as pb


def commit_text(c: pb.Commit) -> str:
    """``3f2a9c1 Fix the basket``: a commit's short sha and the first line of its message."""
    return f"{short_sha(c.sha)} {first_line(c.message)}".rstrip()


def described(message: pb.Build | pb.Release) -> str:
    """The description cell of a build or release: its commit (from git) when it has one,
    else its description."""
    return commit_text(message.commit) if message.HasField("commit") else message.description


def commit_pairs(message: pb.Build | pb.Release) -> list[tuple[str, str]]:
    """The lines a block shows for the commit a build or release was made from (none
    when it was not made from git)."""
    if not message.HasField("commit"):
        return []
    c = message.commit
    return [
        ("Commit", c.sha or MISSING),
        ("Message", first_line(c.message) or MISSING),
        ("Author", text(c.author)),
        ("Repository", f"{c.repository} {c.ref}".strip() or MISSING),
    ]


def releases_table(releases: Sequence[pb.Release]) -> str:
    """``VERSION ID BUILD REASON CREATED ACTOR DESCRIPTION``, ``*`` marks the active one
    (the description of a release from git: its commit's short sha and subject)."""
    rows = [
        [
            ("* " if r.active else "  ") + version(r.version),
            r.id,
            text(r.build_id),
            text(r.reason),
            when(r, "created_at"),
            text(r.actor),
            described(r),
        ]
        for r in releases
    ]
    headers = ["  VERSION", "ID", "BUILD", "REASON", "CREATED", "ACTOR", "DESCRIPTION"]
    return table(headers, rows)


def release_block(r: pb.Release, *, with_env: bool = False) -> str:
    """A release as key/value lines; its environment below when asked."""
    pairs = [
        ("Id", r.id),
        ("App", r.app),
        ("Version", version(r.version)),
        ("Active", "yes" if r.active else "no"),
        ("Ever active", "yes" if r.ever_active else "no"),
        ("Last activated", when(r, "last_activated_at")),
        ("Build", text(r.build_id)),
        ("Image", text(r.image)),
        ("Reason", text(r.reason)),
        ("Parent", text(r.parent_id)),
        ("Env version", str(r.env_version)),
        ("Created", when(r, "created_at")),
        ("Actor", text(r.actor)),
        ("Description", text(r.description)),
        *commit_pairs(r),
    ]
    block = key_values(pairs)
    if with_env:
        masked = r.env_masked  # values withheld from this key
        env_lines = [tables.clean(f"{k}={v}") for k, v in sorted(r.env.items())]
        title = "Environment (values masked)" if masked else "Environment"
        block += f"\n\n{title}\n" + ("\n".join(env_lines) if env_lines else MISSING)
    return block


def release_line(r: pb.Release) -> str:
    """``release v4 R1234567890``: one release in a sentence."""
    return f"release {version(r.version)} {r.id}"


def builds_table(builds: Sequence[pb.Build]) -> str:
    """``ID STATUS RELEASE STARTED ELAPSED DESCRIPTION`` (Convox's columns; the
    description of a build from git: its commit's short sha and subject)."""
    rows = [
        [
            b.id,
            b.status,
            text(b.release_id),
            when(b, "started_at"),
            tables.elapsed(b, "started_at", "ended_at"),
            described(b),
        ]
        for b in builds
    ]
    return table(["ID", "STATUS", "RELEASE", "STARTED", "ELAPSED", "DESCRIPTION"], rows)


def build_block(b: pb.Build) -> str:
    """A build as key/value lines."""
    pairs = [
        ("Id", b.id),
        ("App", b.app),
        ("Status", b.status),
        ("Release", text(b.release_id)),
        ("Image", text(b.image)),
        ("Source", text(b.source)),
        ("Description", text(b.description)),
        ("Created", when(b, "created_at")),
        ("Started", when(b, "started_at")),
        ("Ended", when(b, "ended_at")),
        ("Elapsed", tables.elapsed(b, "started_at", "ended_at")),
        ("Actor", text(b.actor)),
        *commit_pairs(b),
    ]
    if b.images:
        pairs.append(("Images", " ".join(f"{k}={v}" for k, v in sorted(b.images.items()))))
    if b.error:
        pairs.append(("Error", b.error))
    return key_values(pairs)


def promotions_table(promotions: Sequence[pb.Promotion]) -> str:
    """``ID STATUS RELEASE PREVIOUS STARTED ENDED ACTOR REASON``."""
    rows = [
        [
            p.id,
            p.status,
            text(p.release_id),
            text(p.previous_release_id),
            when(p, "started_at"),
            when(p, "ended_at"),
            text(p.actor),
            p.reason,
        ]
        for p in promotions
    ]
    headers = ["ID", "STATUS", "RELEASE", "PREVIOUS", "STARTED", "ENDED", "ACTOR", "REASON"]
    return table(headers, rows)


def promotion_line(p: pb.Promotion) -> str:
    """``promotion P… of R… running``: one promotion in a sentence."""
    line = f"promotion {p.id} of {p.release_id or MISSING} {p.status}"
    if p.queued:
        line += " (queued)"
    if p.reason:
        line += f": {p.reason}"
    return tables.clean(line)


def promotion_block(p: pb.Promotion) -> str:
    """A promotion as key/value lines, then its cause and its steps."""
    pairs = [
        ("Id", p.id),
        ("App", p.app),
        ("Status", p.status),
        ("Release", text(p.release_id)),
        ("Previous", text(p.previous_release_id)),
        ("Reason", text(p.reason)),
        ("Deadline", f"{p.deadline_seconds}s" if p.deadline_seconds else MISSING),
        ("Created", when(p, "created_at")),
        ("Started", when(p, "started_at")),
        ("Ended", when(p, "ended_at")),
        ("Actor", text(p.actor)),
        ("Description", text(p.description)),
    ]
    if p.HasField("cause"):
        cause = render.cause(p.cause)
        pairs.append(("Cause", cause.pop("kind") or MISSING))
        pairs.extend(
            (f"  {key.replace('_', ' ')}", str(value)) for key, value in cause.items() if value
        )
    block = key_values(pairs)
    if p.steps:
        rows = [[when(s, "time"), str(s.position), s.kind, s.message] for s in p.steps]
        block += "\n\n" + table(["TIME", "POSITION", "STEP", "MESSAGE"], rows, right=[1])
    return block


def app_note(a: pb.App) -> str:
    """``archived`` (a closed pull request's review app), ``auto promotion paused`` or ``-``."""
    if a.archived:
        return "archived"
    return "auto promotion paused" if a.auto_promotion_paused else MISSING


def apps_table(apps: Sequence[pb.App]) -> str:
    """``NAME ACTIVE RELEASES ENV PROMOTION CREATED NOTE``."""
    rows = [
        [
            a.name,
            text(a.active_release_id),
            str(a.release_count),
            f"v{a.env_version}",
            f"{a.promotion.id} {a.promotion.status}" if a.HasField("promotion") else MISSING,
            when(a, "created_at"),
            app_note(a),
        ]
        for a in apps
    ]
    headers = ["NAME", "ACTIVE", "RELEASES", "ENV", "PROMOTION", "CREATED", "NOTE"]
    return table(headers, rows, right=[2])


def app_block(a: pb.App) -> str:
    """An app as key/value lines."""
    in_flight = MISSING
    if a.HasField("promotion"):
        in_flight = f"{a.promotion.id} {a.promotion.status} -> {a.promotion.release_id}"
    pairs = [
        ("Name", a.name),
        ("Active release", text(a.active_release_id)),
        ("Desired release", text(a.desired_release_id)),
        ("Latest release", text(a.latest_release_id)),
        ("Promotion", in_flight),
        ("Releases", str(a.release_count)),
        ("Env version", f"v{a.env_version}"),
        ("Created", when(a, "created_at")),
        ("Actor", text(a.actor)),
        ("Workflows", ", ".join(a.workflows) or MISSING),
    ]
    if a.workflows:
        paused = a.auto_promotion_paused
        pairs.append(("Auto promotion", f"paused: {paused}" if paused else "on"))
    if a.archived:
        pairs.append(("Archived", "yes (a closed pull request's review app)"))
    return key_values(pairs)


def task_release(t: pb.Task) -> str:
    """``v3 R1234567890``: the release a task runs (``-`` when the runtime did not say)."""
    parts = [version(t.release_version) if t.release_version else "", t.release_id]
    return " ".join(part for part in parts if part) or MISSING


def tasks_table(tasks: Sequence[pb.Task], now: datetime) -> str:
    """``TASK NODE STATE RELEASE PORT SINCE MESSAGE``: each replica as ``web.2``, how long
    it has been in its state (as of ``now``), and why a failed one ended."""
    rows = [
        [
            f"{t.service}.{t.slot}",
            text(t.node),
            text(t.state),
            task_release(t),
            str(t.port) if t.port else MISSING,
            tables.age(t, "since", now),
            first_line(t.message),
        ]
        for t in tasks
    ]
    headers = ["TASK", "NODE", "STATE", "RELEASE", "PORT", "SINCE", "MESSAGE"]
    return table(headers, rows, right=[4])
