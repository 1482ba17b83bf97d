"""The clock edge: every "now" in the controller comes from here, as naive UTC.

Naive UTC is what both SQLite and PostgreSQL `timestamp` columns store without surprises;
local time only exists at the edges (rendering a restock date, a player's proof of play).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
