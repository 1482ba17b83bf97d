"""Override ids reserved in `schema_meta`: unique across allocators, threads and the web."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.models import Override, Store, Zone
from esl_controller.signage.override_ids import (
    OverrideIdBlock,
    reserve_override_ids,
)
from esl_controller.web.signage_actions import create_manual_override


def _zone(engine: Engine, store_id: str) -> str:
    with session_scope(engine) as s:
        s.add(Store(id=store_id, name="Test"))
        s.flush()
        s.add(Zone(id="dairy", store_id=store_id))
    return "dairy"


def _override(override_id: int | None, zone: str) -> Override:
    return Override(
        id=override_id,
        zone_id=zone,
        kind="campaign",
        content="{}",
        expires_at=datetime.now(UTC) + timedelta(seconds=30),
    )


def _take_in_threads(engine: Engine, threads: int, per_thread: int, block: int) -> list[int]:
    taken: list[list[int]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(index: int) -> None:
        allocator = OverrideIdBlock(engine, block=block)
        start.wait()
        taken[index].extend(allocator.take() for _ in range(per_thread))

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return [override_id for ids in taken for override_id in ids]


def test_first_reservation_continues_after_the_existing_rows(engine, settings):
    zone = _zone(engine, settings.store_id)
    with session_scope(engine) as s:
        s.add_all([_override(None, zone), _override(None, zone)])  # ids 1, 2 (autoincrement)
    assert reserve_override_ids(engine, 3) == range(3, 6)
    assert reserve_override_ids(engine, 1) == range(6, 7)


def test_allocators_in_threads_never_hand_out_the_same_id(engine):
    ids = _take_in_threads(engine, threads=4, per_thread=60, block=7)  # many small blocks
    assert len(ids) == 240
    assert len(set(ids)) == len(ids)


def test_ids_of_the_service_and_of_the_web_never_collide(engine, settings):
    zone = _zone(engine, settings.store_id)
    service_ids = OverrideIdBlock(engine, block=50)
    first = service_ids.take()  # the service holds a block before the web creates anything
    with session_scope(engine) as s:
        values = {
            "zone": zone,
            "seconds": 60,
            "priority": 90,
            "media_sha256": None,
            "gtin": None,
            "text": "Closing in 15 minutes",
        }
        web_id = create_manual_override(s, settings, values, created_by="ana").id
    later = [service_ids.take() for _ in range(10)]
    assert web_id not in [first, *later]
    with session_scope(engine) as s:  # rows with the service's ids go in next to the web's
        s.add_all(_override(override_id, zone) for override_id in [first, *later])
    with Session(engine) as s:
        stored = s.scalars(select(Override.id)).all()
    assert sorted(stored) == sorted([web_id, first, *later])


def test_a_block_left_over_is_used_before_a_new_one(engine):
    allocator = OverrideIdBlock(engine, block=5)
    first = [allocator.take() for _ in range(3)]
    allocator.ensure(4)  # 2 left: reserves more, keeps the 2
    rest = [allocator.take() for _ in range(4)]
    assert first + rest == list(range(first[0], first[0] + 7))


def test_reserving_nothing_is_refused(engine):
    with pytest.raises(ValueError, match="positive number of override ids, not 0"):
        reserve_override_ids(engine, 0)
    with pytest.raises(ValueError, match="at least one id"):
        OverrideIdBlock(engine, block=0)


def test_allocators_on_postgresql_never_hand_out_the_same_id(pg_engine):
    ids = _take_in_threads(pg_engine, threads=4, per_thread=40, block=3)
    assert len(set(ids)) == len(ids) == 160
