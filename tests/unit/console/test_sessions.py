"""Console sign-in sessions: ids map to token hashes, for a limited time, until closed."""

from __future__ import annotations

from server.console.sessions import Sessions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_open_session_gives_back_the_token_hash_it_was_opened_with() -> None:
    sessions = Sessions()
    session_id = sessions.open("digest-a")
    assert sessions.digest(session_id) == "digest-a"


def test_session_ids_are_long_random_and_distinct() -> None:
    sessions = Sessions()
    ids = {sessions.open("digest") for _ in range(100)}
    assert len(ids) == 100
    assert all(len(session_id) >= 40 for session_id in ids)


def test_an_unknown_session_id_gives_nothing() -> None:
    assert Sessions().digest("made-up") is None


def test_a_closed_session_is_gone() -> None:
    sessions = Sessions()
    session_id = sessions.open("digest-a")
    sessions.close(session_id)
    assert sessions.digest(session_id) is None


def test_a_session_expires_after_its_lifetime() -> None:
    clock = Clock()
    sessions = Sessions(lifetime=60, clock=clock)
    session_id = sessions.open("digest-a")
    clock.now += 59
    assert sessions.digest(session_id) == "digest-a"
    clock.now += 1
    assert sessions.digest(session_id) is None
