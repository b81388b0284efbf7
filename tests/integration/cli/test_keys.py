"""``ledgerctl keys``, ``whoami``, and how a refused sign-in or permission reads."""

from __future__ import annotations

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl

pytestmark = SQLITE_ONLY


def create(ledgerctl: Ledgerctl, *argv: str) -> tuple[dict[str, object], str]:
    """``keys create --json ARGV``: (the key, its token)."""
    created = ledgerctl.ok("--json", "keys", "create", *argv).json
    return created["key"], created["token"]


def test_keys_create_prints_the_token_once_with_a_warning_and_the_token_signs_in(
    web: Ledgerctl,
) -> None:
    result = web.ok("keys", "create", "--role", "deployer", "--app", "web", "--name", "ci")

    summary, token = result.lines
    assert summary.startswith("created key ci (K") and summary.endswith("): deployer for web")
    assert token.startswith("dl_")
    assert "shown only this once" in result.stderr
    whoami = web.ok("--json", "whoami", environ={"LEDGER_TOKEN": token}).json
    assert (whoami["name"], whoami["role"], whoami["apps"]) == ("ci", "deployer", ["web"])


def test_keys_list_shows_keys_without_tokens_and_revoke_ends_a_key(web: Ledgerctl) -> None:
    key, token = create(web, "--role", "reader", "--app", "web", "--name", "dash")

    listed = web.ok("--json", "keys", "list").json
    table = web.ok("keys").stdout
    revoked = web.ok("--json", "keys", "revoke", str(key["id"])).json
    refused = web("whoami", environ={"LEDGER_TOKEN": token})

    assert [k["name"] for k in listed] == ["admin", "dash"]
    assert "dash" in table and token not in table and token not in str(listed)
    assert revoked["revoked_at"] and revoked["revoked_by"].startswith("admin (K")
    assert [k["name"] for k in web.ok("--json", "keys", "list").json] == ["admin"]
    assert [k["name"] for k in web.ok("--json", "keys", "list", "--all").json] == ["admin", "dash"]
    assert refused.code == 1
    assert refused.stderr.startswith("ledgerctl: error: the token was refused")


def test_without_a_token_ledgerctl_says_how_to_sign_in_and_exits_1(web: Ledgerctl) -> None:
    result = web("apps", environ={"LEDGER_TOKEN": ""})

    assert result.code == 1
    assert result.stderr == (
        "ledgerctl: error: not signed in: set LEDGER_TOKEN or pass --token TOKEN\n"
    )


def test_a_deployer_is_told_which_key_may_not_do_what_and_exits_1(web: Ledgerctl) -> None:
    _, token = create(web, "--role", "deployer", "--app", "web", "--name", "ci")

    result = web("apps", "create", "other", environ={"LEDGER_TOKEN": token})

    assert result.code == 1
    assert result.stderr == (
        "ledgerctl: error: permission denied: key ci (deployer for web) may not create apps\n"
    )


def test_an_auditor_sees_env_keys_with_masked_values(web: Ledgerctl) -> None:
    web.ok("env", "set", "SECRET=s3cret")
    _, token = create(web, "--role", "auditor", "--name", "audit")
    as_auditor = {"LEDGER_TOKEN": token}

    shown = web.ok("env", environ=as_auditor)
    data = web.ok("--json", "env", environ=as_auditor).json
    value = web("env", "get", "SECRET", environ=as_auditor)

    assert shown.stdout == "SECRET=***\n" and "masked" in shown.stderr
    assert data == {"version": 1, "env": {"SECRET": "***"}, "masked": True}
    assert value.code == 1 and "s3cret" not in value.stdout + value.stderr
