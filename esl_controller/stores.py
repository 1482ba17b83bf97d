"""The stores of a chain on one database: adding and changing them, and what each one's
settings are in effect.

A store's row holds what differs from store to store (name, time zone, locale, currency,
ERP feed and its scope, delisting guard, Odoo warehouse); the environment is the default
for whatever a row leaves empty, so a single store needs no row values beyond its id. The
worker of a store runs on `effective_settings`, never on the environment alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, select

from esl_controller import audit
from esl_controller.config import Settings
from esl_controller.erp.feed_scope import parse_feed_scope
from esl_controller.labels.price_format import LOCALE_STYLES
from esl_controller.models import Store
from esl_controller.money import CURRENCY_DECIMALS
from esl_controller.topic_levels import TopicLevelError, validate_id


class StoreError(ValueError):
    """A store change refused; the message says what to fix, in a store worker's words."""


class UnknownStore(LookupError):
    """The store id names no store of this database; the message says how to add it."""


@dataclass(frozen=True)
class StoreChange:
    """What `store add` / `store set` was asked to write; None leaves a field as it is."""

    name: str | None = None
    timezone: str | None = None
    locale: str | None = None
    currency: str | None = None
    erp_feed_url: str | None = None
    delisting_ratio: float | None = None
    # "" (or 0 for the warehouse) goes back to the environment's default
    erp_feed_scope: str | None = None
    odoo_warehouse: int | None = None


def add_store(session: Session, store_id: str, change: StoreChange, actor: str) -> Store:
    """A new store, audited; refused if the id is taken or a value is not one we know."""
    try:
        validate_id("store", store_id)
    except TopicLevelError as exc:
        raise StoreError(str(exc)) from None
    if session.get(Store, store_id) is not None:
        raise StoreError(f"store {store_id!r} already exists; change it with `store set`")
    if not change.name or not change.name.strip():
        raise StoreError("a store needs a name (--name)")
    store = Store(id=store_id, name="")
    _apply(store, change)
    session.add(store)
    session.flush()  # the audit entry names the store: the row goes first
    audit.record(
        session,
        actor=actor,
        action="store.add",
        target=f"store:{store_id}",
        detail=_row(store),
        store_id=store_id,
    )
    session.flush()
    return store


def update_store(session: Session, store_id: str, change: StoreChange, actor: str) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise UnknownStore(_unknown_message(session, store_id))
    before = _row(store)
    _apply(store, change)
    after = _row(store)
    changed = {k: {"before": before[k], "after": v} for k, v in after.items() if before[k] != v}
    session.add(store)
    audit.record(
        session,
        actor=actor,
        action="store.set",
        target=f"store:{store_id}",
        detail=changed,
        store_id=store_id,
    )
    session.flush()
    return store


def list_stores(session: Session) -> list[Store]:
    return list(session.exec(select(Store).order_by(Store.id)))


def effective_settings(session: Session, settings: Settings, store_id: str) -> Settings:
    """The settings a worker of `store_id` runs on: the store row's values over the
    environment's. Raises UnknownStore (saying how to add it) for a store that is not there."""
    store = session.get(Store, store_id)
    if store is None:
        raise UnknownStore(_unknown_message(session, store_id))
    return settings.with_overrides(
        store_id=store.id,
        erp_url=store.erp_feed_url if store.erp_feed_url is not None else settings.erp_url,
        delist_safety_ratio=(
            store.delisting_ratio
            if store.delisting_ratio is not None
            else settings.delist_safety_ratio
        ),
        erp_feed_scope=(
            store.erp_feed_scope if store.erp_feed_scope is not None else settings.erp_feed_scope
        ),
        odoo_warehouse=(
            store.odoo_warehouse if store.odoo_warehouse is not None else settings.odoo_warehouse
        ),
    )


def existing_store_id(session: Session, store_id: str) -> str | None:
    """`store_id` when its row exists, else None: what a row written outside any worker
    (by the web) can name as its store before the first worker has created it."""
    return store_id if session.get(Store, store_id) is not None else None


def bootstrap_store(session: Session, store_id: str) -> Store | None:
    """A database with no store yet is a single store being installed: its first worker
    creates the row for its own id (environment defaults) and goes on as one store always
    has. Once any store exists, nothing is created here."""
    if session.exec(select(Store.id).limit(1)).first() is not None:
        return None
    store = Store(id=store_id, name=store_id)
    session.add(store)
    session.flush()
    audit.record(
        session,
        actor="worker",
        action="store.bootstrap",
        target=f"store:{store_id}",
        detail={},
        store_id=store_id,
    )
    session.flush()
    return store


def _unknown_message(session: Session, store_id: str) -> str:
    known = ", ".join(store.id for store in list_stores(session)) or "none yet"
    return (
        f"there is no store {store_id!r} in this database (stores: {known}); add it with "
        f"`esl-controller store add {store_id} --name NAME --timezone ZONE --locale LOCALE "
        "--currency CODE`, or set ESL_STORE_ID to one of them"
    )


def _apply(store: Store, change: StoreChange) -> None:
    """Check every value first, then write them all: a refusal changes nothing."""
    if change.name is not None and not change.name.strip():
        raise StoreError("a store's name cannot be empty")
    if change.timezone is not None:
        _check_timezone(change.timezone)
    if change.locale is not None and change.locale not in LOCALE_STYLES:
        known = ", ".join(sorted(LOCALE_STYLES))
        raise StoreError(f"unknown locale {change.locale!r}; labels can be printed in: {known}")
    currency = change.currency.upper() if change.currency is not None else None
    if currency is not None and currency not in CURRENCY_DECIMALS:
        known = ", ".join(sorted(CURRENCY_DECIMALS))
        raise StoreError(f"unknown currency {change.currency!r}; known currencies: {known}")
    feed = (change.erp_feed_url or "").strip()
    if feed and "://" not in feed and not feed.startswith("/"):
        raise StoreError(f"ERP feed {feed!r} is neither a URL (http://...) nor a file path")
    ratio = change.delisting_ratio
    if ratio is not None and (not math.isfinite(ratio) or not 0 < ratio <= 1):
        raise StoreError(
            f"delisting ratio {ratio!r} must be more than 0 and at most 1 (0.2: a sync may "
            "delist at most a fifth of the store's products)"
        )
    scope = (change.erp_feed_scope or "").strip()
    if scope:
        try:
            scope = parse_feed_scope(scope, setting="erp_feed_scope").value
        except ValueError as exc:
            raise StoreError(str(exc)) from None
    warehouse = change.odoo_warehouse
    if warehouse is not None and warehouse < 0:
        raise StoreError(
            f"Odoo warehouse {warehouse} is no Odoo record id; give the warehouse's id "
            "(Inventory > Configuration > Warehouses), or 0 for ESL_ODOO_WAREHOUSE"
        )
    if change.name is not None:
        store.name = change.name.strip()[:120]
    if change.timezone is not None:
        store.timezone = change.timezone
    if change.locale is not None:
        store.locale = change.locale
    if currency is not None:
        store.currency = currency
    if change.erp_feed_url is not None:
        # An empty feed goes back to the environment's (ESL_ERP_URL).
        store.erp_feed_url = change.erp_feed_url.strip() or None
    if ratio is not None:
        store.delisting_ratio = ratio
    if change.erp_feed_scope is not None:
        store.erp_feed_scope = scope or None  # empty: ESL_ERP_FEED_SCOPE
    if warehouse is not None:
        store.odoo_warehouse = warehouse or None  # 0: ESL_ODOO_WAREHOUSE


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise StoreError(
            f"unknown time zone {name!r}; use a name such as Europe/Bucharest or Europe/Berlin"
        ) from None


def _row(store: Store) -> dict[str, object]:
    return {
        "name": store.name,
        "timezone": store.timezone,
        "locale": store.locale,
        "currency": store.currency,
        "erp_feed_url": store.erp_feed_url,
        "delisting_ratio": store.delisting_ratio,
        "erp_feed_scope": store.erp_feed_scope,
        "odoo_warehouse": store.odoo_warehouse,
    }
