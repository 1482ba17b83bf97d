"""A campaign's chain targeting checked against the stores and zones that exist.

The targeting JSON names stores by `store.id` and zones by kind (`zone.kind`, shared across
stores); a name that matches nothing would make a campaign that silently never plays, so it
is refused, in words a store worker understands, before the campaign is saved.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from esl_controller.models import Store, Zone
from esl_controller.signage.targeting import Targeting


def store_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Store.id).order_by(Store.id)))


def zone_kinds(session: Session, stores: frozenset[str] = frozenset()) -> list[str]:
    """The zone kinds of `stores` (empty: of every store), sorted."""
    query = select(Zone.kind).distinct().where(Zone.kind != "")
    if stores:
        query = query.where(Zone.store_id.in_(sorted(stores)))
    return sorted(session.scalars(query))


def targeting_problem(session: Session, targeting: Targeting) -> tuple[str, str] | None:
    """(field, sentence) for a store or zone kind the targeting names that does not exist."""
    known_stores = store_ids(session)
    unknown = sorted(targeting.stores - set(known_stores))
    if unknown:
        return "stores", (
            f"there is no store {_names(unknown)}; the stores are {_names(known_stores)}"
        )
    if targeting.zone_kinds:
        known_kinds = zone_kinds(session, targeting.stores)
        missing = sorted(targeting.zone_kinds - set(known_kinds))
        if missing:
            where = "the campaign's stores" if targeting.stores else "any store"
            have = _names(known_kinds) if known_kinds else "none"
            return "zone_kinds", (
                f"no zone of kind {_names(missing)} in {where}; the kinds there are {have}"
            )
    return None


def _names(items: list[str]) -> str:
    return ", ".join(repr(item) for item in items)
