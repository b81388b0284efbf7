"""How a release introduces itself on the console's pages (the template the Releases tab,
the app header, the apps list and the confirmation share)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ledger.queries.release_facts import what_it_is
from ledger.views import ReleaseView
from server.console.app import templates

SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
RELEASE = ReleaseView(
    id="RAAAAAAAAAA", app="shop", version=12, build_id="BAAAAAAAAAA",
    image="registry.example.com/team/shop:1.2", env_version=3, env_keys=(), reason="build",
    parent_id="", description="", actor="alice", created_at=datetime(2026, 12, 2, tzinfo=UTC),
    position=40,
)  # fmt: skip
LINE = '{% import "release_macros.html" as rm %}{{ rm.identity_line("shop", release, ident) }}'


def line(release: ReleaseView) -> str:
    template = templates().env.from_string(LINE)
    return template.render(release=release, ident=what_it_is(release))


def test_a_git_build_reads_deploy_its_short_sha_linked_to_the_commit_and_its_message() -> None:
    commit = {
        "repository": "https://ci:token-123@github.com/acme/shop.git",
        "sha": SHA,
        "message": "Fix the <checkout> total\n\nbody",
    }
    shown = line(replace(RELEASE, commit=commit))
    assert '<span class="reason" data-reason="build">Deploy</span>' in shown
    assert f'<a class="sha" href="https://github.com/acme/shop/commit/{SHA}"' in shown
    assert "<code>1a2b3c4</code>" in shown
    assert "Fix the &lt;checkout&gt; total" in shown  # escaped, first line only
    assert "body" not in shown
    assert "token-123" not in shown


def test_a_git_build_of_a_repository_without_web_pages_shows_its_sha_as_text() -> None:
    commit = {"repository": "file:///srv/git/shop.git", "sha": SHA, "message": "First"}
    shown = line(replace(RELEASE, commit=commit))
    assert '<code class="sha"' in shown
    assert 'href="file:' not in shown


def test_an_image_build_links_its_short_image_to_its_build_with_the_full_reference() -> None:
    shown = line(RELEASE)
    assert (
        '<a href="/apps/shop/builds/BAAAAAAAAAA" title="registry.example.com/team/shop:1.2">'
        "<code>shop:1.2</code></a>"
    ) in shown
