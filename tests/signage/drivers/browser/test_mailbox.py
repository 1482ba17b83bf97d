"""The browser channel's mailbox: a stream that has read up to some command id must see every
later command, so no id is ever handed out twice, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.signage.drivers.browser import mailbox

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue("engine" if request.param == "sqlite" else "pg_engine")


def _post(engine: Engine, kind: str, payload: bytes, now: datetime = NOW) -> None:
    with Session(engine) as session:
        mailbox.post_command(session, "s1", "p1", kind, payload, now)
        session.commit()


def _after(engine: Engine, cursor: int) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [(r.kind, r.payload) for r in mailbox.commands_after(session, "s1", "p1", cursor)]


def _cursor(engine: Engine) -> int:
    with Session(engine) as session:
        return mailbox.newest_command_id(session)


def test_a_playlist_replacing_the_newest_row_reaches_a_stream_past_it(any_engine: Engine):
    _post(any_engine, mailbox.PLAYLIST, b'{"digest": "a"}')
    cursor = _cursor(any_engine)  # a stream that has sent playlist "a"
    _post(any_engine, mailbox.PLAYLIST, b'{"digest": "b"}')
    assert _after(any_engine, cursor) == [(mailbox.PLAYLIST, '{"digest": "b"}')]
    with Session(any_engine) as session:  # only the newest playlist is kept
        latest = mailbox.latest_playlist(session, "s1", "p1")
        assert latest is not None and latest.payload == '{"digest": "b"}'
        assert len(mailbox.commands_after(session, "s1", "p1", 0)) == 1


def test_pruning_keeps_the_newest_command_so_its_id_is_not_given_again(any_engine: Engine):
    _post(any_engine, mailbox.OVERRIDE, b'{"override_id": 1}')
    _post(any_engine, mailbox.OVERRIDE, b'{"override_id": 2}')
    cursor = _cursor(any_engine)  # a stream that has sent both
    with Session(any_engine) as session:
        assert mailbox.prune_commands(session, NOW + 2 * mailbox.COMMAND_KEEP) == 1
        session.commit()
    later = NOW + 2 * mailbox.COMMAND_KEEP + timedelta(seconds=1)
    _post(any_engine, mailbox.REVERT, b'{"override_id": 2}', later)
    assert _after(any_engine, cursor) == [(mailbox.REVERT, '{"override_id": 2}')]
