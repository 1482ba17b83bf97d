"""Which store a billed row belongs to: its screen's.

A chain bills plays from every store into one campaign; impressions and their hourly totals
name the player, and the player names its store. Reports and verification find a row's
store only through `with_store`, `store_of` and `in_store`, so when the rows carry a
`store_id` of their own this module is the one place that changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement, Label

from esl_controller.models import Player


def with_store(query: Any, player_id: Any) -> Any:
    """`query` (selecting from the billed rows first) joined through their player column
    `player_id` to what `store_of` and `in_store` read."""
    return query.outerjoin(Player, Player.id == player_id)


def store_of() -> Label[str]:
    """The store of a row of a `with_store` query ("" when its player is unknown)."""
    return func.coalesce(Player.store_id, "").label("store_id")


def in_store(store_id: str) -> ColumnElement[bool]:
    """The condition keeping rows of one store (with `with_store` applied)."""
    return Player.store_id == store_id
