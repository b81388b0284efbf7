"""Global settings: options first, then LEDGER_HOST, LEDGER_TOKEN, LEDGER_APP."""

from __future__ import annotations

import io
from collections.abc import Mapping

from cli.context import Session
from cli.transport import DEFAULT_HOST


def configured(
    environ: Mapping[str, str], *, host: str | None = None, token: str | None = None
) -> Session:
    session = Session(stdout=io.StringIO(), stderr=io.StringIO(), environ=environ)
    session.configure(host=host, token=token, as_json=False, app=None)
    return session


def authorization(session: Session) -> list[str]:
    return [value for key, value in session.client.transport.metadata() if key == "authorization"]


def test_the_token_option_is_sent_as_a_bearer_authorization() -> None:
    assert authorization(configured({}, token="s3cret")) == ["Bearer s3cret"]


def test_the_token_may_come_from_ledger_token() -> None:
    assert authorization(configured({"LEDGER_TOKEN": "from-env"})) == ["Bearer from-env"]


def test_the_token_option_wins_over_ledger_token() -> None:
    session = configured({"LEDGER_TOKEN": "from-env"}, token="option")
    assert authorization(session) == ["Bearer option"]


def test_a_blank_token_sends_no_authorization() -> None:
    assert authorization(configured({"LEDGER_TOKEN": "  "})) == []


def test_host_and_app_come_from_the_environment_when_not_given() -> None:
    session = configured({"LEDGER_HOST": "ledger:7000", "LEDGER_APP": "web"})
    assert (session.host, session.app) == ("ledger:7000", "web")
    assert configured({}, host="other:1").host == "other:1"
    assert configured({}).host == DEFAULT_HOST
