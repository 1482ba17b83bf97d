"""Override ids handed out before the row exists, shared by every process of one database.

An override's id travels to the players in the override message. Taking it from the
table's autoincrement would mean writing the row before publishing; instead a counter row
in `schema_meta` hands out blocks of ids. The worker keeps a block in memory (one short
transaction per thousand overrides); the web reserves one id per manual override. Every
writer of `override` rows must take its ids here, or an autoincremented row could land
inside a block already handed out.
"""

from __future__ import annotations

from collections import deque

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

OVERRIDE_ID_KEY = "override_id_next"
DEFAULT_BLOCK = 1000

# The UPDATE comes first: it takes the write lock (SQLite) or the row lock (PostgreSQL)
# before anything is read, so two reservers are serialised rather than both reading one value.
_ADVANCE = text(
    "UPDATE schema_meta SET value = CAST(CAST(value AS BIGINT) + :count AS VARCHAR) "
    "WHERE key = :key"
)
_INITIALISE = text(
    "INSERT INTO schema_meta (key, value) "
    "SELECT :key, CAST(COALESCE(MAX(id), 0) + 1 + :count AS VARCHAR) FROM override"
)
_READ = text("SELECT value FROM schema_meta WHERE key = :key")


def reserve_override_ids_in(conn: Connection, count: int) -> range:
    """Reserve `count` consecutive ids inside the caller's transaction (they are reserved
    only if it commits)."""
    if count < 1:
        raise ValueError(f"can only reserve a positive number of override ids, not {count}")
    params = {"key": OVERRIDE_ID_KEY, "count": count}
    if conn.execute(_ADVANCE, params).rowcount == 0:
        conn.execute(_INITIALISE, params)  # first use: continue after the existing rows
    next_free = int(conn.execute(_READ, {"key": OVERRIDE_ID_KEY}).scalar_one())
    return range(next_free - count, next_free)


def reserve_override_ids(engine: Engine, count: int) -> range:
    """Reserve `count` consecutive ids in one short transaction of its own."""
    try:
        with engine.begin() as conn:
            return reserve_override_ids_in(conn, count)
    except IntegrityError:  # another process created the counter at the same moment: use it
        with engine.begin() as conn:
            return reserve_override_ids_in(conn, count)


class OverrideIdBlock:
    """Reserved ids kept in memory by one thread (the signage service's)."""

    def __init__(self, engine: Engine, block: int = DEFAULT_BLOCK) -> None:
        if block < 1:
            raise ValueError(f"an override id block must hold at least one id, not {block}")
        self.engine = engine
        self.block = block
        self._free: deque[range] = deque()

    @property
    def remaining(self) -> int:
        return sum(len(ids) for ids in self._free)

    def ensure(self, count: int) -> None:
        """Make sure the next `count` takes need no database. Call it outside any other
        write transaction: on SQLite a second writer in this thread would wait for itself."""
        missing = count - self.remaining
        if missing > 0:
            self._free.append(reserve_override_ids(self.engine, max(self.block, missing)))

    def take(self) -> int:
        self.ensure(1)
        ids = self._free[0]
        if len(ids) == 1:
            self._free.popleft()
        else:
            self._free[0] = ids[1:]
        return ids[0]
