from datetime import UTC, datetime, timedelta

from esl_controller import audit
from esl_controller.db import session_scope


def test_entries_come_back_newest_first_and_filtered(engine):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        audit.record(
            session,
            actor="maria",
            action="label.link",
            target="label:L-1",
            detail={"gtin": "05941234567891"},
            at=start,
        )
        audit.record(
            session,
            actor="cli",
            action="user.disable",
            target="user:ion",
            at=start + timedelta(minutes=1),
        )
        audit.record(
            session,
            actor="maria",
            action="label.unlink",
            target="label:L-1",
            at=start + timedelta(minutes=2),
        )
    with session_scope(engine) as session:
        everything = audit.recent(session)
        labels = audit.recent(session, action_prefix="label.")
        one_label = audit.recent(session, target="label:L-1", limit=1)
    assert [e.action for e in everything] == ["label.unlink", "user.disable", "label.link"]
    assert [e.action for e in labels] == ["label.unlink", "label.link"]
    assert [e.action for e in one_label] == ["label.unlink"]
    assert audit.detail_of(labels[1]) == {"gtin": "05941234567891"}


def test_an_entry_rolls_back_with_the_change_it_describes(engine):
    try:
        with session_scope(engine) as session:
            audit.record(session, actor="maria", action="price.manual", target="product:1")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        assert audit.recent(session) == []
