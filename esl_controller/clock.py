"""The clock edge: every "now" in the controller comes from here, as an aware UTC datetime.

SQLModel stores datetimes as UTC and hands them back aware (on SQLite and PostgreSQL
alike), so the whole controller works in aware UTC; local time only exists at the edges
(a restock date on a label, a player's proof of play).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
