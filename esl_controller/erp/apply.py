"""Applying validated ERP records to the catalogue: bulk upserts that touch only what changed.

The sync calls these once per feed page, inside that page's transaction. A product row is
written only when something its label shows differs (name, brand, price, currency, size,
unit, stock, restock date, status), so re-running a sync writes nothing and bumps no
`updated_at`. Every price change (and the first price of a new product) becomes a
`PriceHistory` row, the input of the EU 30-day prior-price rule.

Known products live in a `Catalogue` (GTIN key -> id and the label-visible values), loaded
once per run, so a 100,000-product page stream costs one SELECT, not one per record. The key
is the 14-digit GTIN, so the 12-, 13- and 14-digit forms of one GTIN are one product; a new
product is stored in its display form (`catalogue.gtin.display_gtin`), and a row stored
before keys existed is still found under whatever digits it was stored with.

A promotion ends (its `ends_at` is pulled in to now, or to its start when it has not begun)
when the incremental feed cancels it or a full snapshot no longer lists it; the row stays,
because the 30-day prior-price rule and the dashboard's history still read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from esl_controller.catalogue.gtin import GTIN_LENGTHS, gtin_forms
from esl_controller.erp.records import ProductRecord, PromotionRecord
from esl_controller.models import PriceHistory, Product, Promotion

# What a label shows of a product, in the order `Shown` holds it.
LABEL_FIELDS = (
    "name",
    "brand",
    "price_minor",
    "currency",
    "net_quantity",
    "unit",
    "stock",
    "restock_date",
    "status",
)
Shown = tuple[Any, ...]
_CHUNK = 500  # ids per IN (...) list: well under every backend's bound-parameter limit

products = Product.__table__
promotions = Promotion.__table__
price_history = PriceHistory.__table__


@dataclass
class KnownProduct:
    id: int
    shown: Shown
    delisted_at: datetime | None = None

    @property
    def price(self) -> tuple[int, str]:
        return self.shown[2], self.shown[3]

    @property
    def status(self) -> str:
        return self.shown[8]


@dataclass
class Rejection:
    """A valid record that cannot be applied (e.g. a promotion for a product we do not know)."""

    record: PromotionRecord
    field: str
    reason: str


@dataclass
class PageChanges:
    changed_ids: set[int] = field(default_factory=set)
    changed: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)


class Catalogue:
    """The store's products by 14-digit GTIN key. `load_all` for a full snapshot (every
    product is needed for delisting); otherwise `ensure` fetches only the keys a page names."""

    def __init__(self, store_id: str) -> None:
        self.store_id = store_id
        self.by_gtin: dict[str, KnownProduct] = {}
        self._complete = False

    def load_all(self, session: Session) -> None:
        self._add_rows(session.execute(_known_products_query(self.store_id)))
        self._complete = True

    def ensure(self, session: Session, keys: Iterable[str]) -> None:
        if self._complete:
            return
        missing = sorted({key for key in keys if key not in self.by_gtin})
        for start in range(0, len(missing), _CHUNK):
            forms = [form for key in missing[start : start + _CHUNK] for form in gtin_forms(key)]
            query = _known_products_query(self.store_id).where(products.c.gtin.in_(forms))
            self._add_rows(session.execute(query))

    def active_gtins(self) -> set[str]:
        return {gtin for gtin, known in self.by_gtin.items() if known.status == "active"}

    def _add_rows(self, rows: Iterable[Sequence[Any]]) -> None:
        # Ordered by id: if an older release stored two spellings of one GTIN as two rows,
        # the first one is the product; the other is never matched again.
        for row in rows:
            known = KnownProduct(row[0], _normalised(tuple(row[3:])), row[2])
            self.by_gtin.setdefault(_stored_key(row[1]), known)


def _stored_key(gtin: str) -> str:
    # No check-digit arithmetic per row: a stored code with a wrong check digit can never
    # equal a validated record's key, so padding is enough to match.
    if gtin.isascii() and gtin.isdigit() and len(gtin) in GTIN_LENGTHS:
        return gtin.zfill(14)
    return gtin  # written by hand or by an older release; matched as written


def _known_products_query(store_id: str):
    columns = [
        products.c.id,
        products.c.gtin,
        products.c.delisted_at,
        *(products.c[name] for name in LABEL_FIELDS),
    ]
    return select(*columns).where(products.c.store_id == store_id).order_by(products.c.id)


def _normalised(shown: Shown) -> Shown:
    # The database may hand net_quantity back as an int or Decimal; compare as float.
    values = list(shown)
    if values[4] is not None:
        values[4] = float(values[4])
    return tuple(values)


def shown_values(record: ProductRecord) -> Shown:
    return tuple(getattr(record, name) for name in LABEL_FIELDS)


def apply_products(
    session: Session,
    catalogue: Catalogue,
    records: Sequence[ProductRecord],
    *,
    now: datetime,
    source: str,
) -> PageChanges:
    """Insert new products, update changed ones, record price changes; one statement each."""
    catalogue.ensure(session, (r.key for r in records))
    result = PageChanges()
    new: list[ProductRecord] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for record in records:
        known = catalogue.by_gtin.get(record.key)
        if record.stock_refused is not None:
            # A stock figure that cannot be read leaves the stock as it was; the price applies.
            record = replace(record, stock=known.shown[6] if known else None)
        if known is None:
            if record.status == "delisted":
                result.unchanged += 1  # never sold here and not for sale: nothing to show
            else:
                new.append(record)
            continue
        shown = shown_values(record)
        if shown == known.shown:
            result.unchanged += 1
            continue
        updates.append(_update_row(known, record, now))
        if (record.price_minor, record.currency) != known.price:
            history.append(_history_row(known.id, record.price_minor, now, source))
        known.shown = shown
        result.changed_ids.add(known.id)
        result.changed += 1
    for product_id, record in _insert_products(session, catalogue.store_id, new, now):
        catalogue.by_gtin[record.key] = KnownProduct(product_id, shown_values(record))
        history.append(_history_row(product_id, record.price_minor, now, source))
        result.changed_ids.add(product_id)
        result.changed += 1
    if updates:
        session.execute(update(products).where(products.c.id == bindparam("product_id")), updates)
    if history:
        session.execute(insert(price_history), history)
    return result


def _update_row(known: KnownProduct, record: ProductRecord, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {name: getattr(record, name) for name in LABEL_FIELDS}
    row.update(product_id=known.id, updated_at=now, erp_modified_at=record.modified_at)
    if record.status != "delisted":
        known.delisted_at = None
    elif known.status != "delisted":
        known.delisted_at = now
    # Keyed the same for every row (executemany); a delisted product keeps its first date.
    row["delisted_at"] = known.delisted_at
    return row


def _history_row(product_id: int, price_minor: int, now: datetime, source: str) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "price_minor": price_minor,
        "effective_at": now,
        "source": source,
    }


def _insert_products(
    session: Session, store_id: str, records: Sequence[ProductRecord], now: datetime
) -> list[tuple[int, ProductRecord]]:
    if not records:
        return []
    rows = [
        {
            "store_id": store_id,
            "gtin": r.gtin,
            **{name: getattr(r, name) for name in LABEL_FIELDS},
            "low_stock_threshold": 5,
            "updated_at": now,
            "listed_at": now,
            "delisted_at": None,
            "erp_modified_at": r.modified_at,
        }
        for r in records
    ]
    statement = insert(products).returning(products.c.id, sort_by_parameter_order=True)
    ids = session.execute(statement, rows).scalars().all()
    return list(zip(ids, records, strict=True))


def delist_products(session: Session, product_ids: Sequence[int], *, now: datetime) -> None:
    """Mark products not for sale (a full snapshot no longer lists them)."""
    for start in range(0, len(product_ids), _CHUNK):
        chunk = product_ids[start : start + _CHUNK]
        session.execute(
            update(products)
            .where(products.c.id.in_(chunk))
            .values(status="delisted", delisted_at=now, updated_at=now)
        )


@dataclass
class KnownPromotion:
    id: int
    product_id: int
    terms: tuple[int, datetime, datetime]  # price_minor, starts_at, ends_at


def load_promotions(session: Session, source: str, store_id: str) -> dict[str, KnownPromotion]:
    """The promotions this feed created before in this store, by the ERP's id. Stores of a
    chain may be sent one promotion id (head office's promotion for every store): each
    store's is its own row, on its own product, which no other store's sync may move or
    end."""
    query = (
        select(
            promotions.c.id,
            promotions.c.external_id,
            promotions.c.product_id,
            promotions.c.price_minor,
            promotions.c.starts_at,
            promotions.c.ends_at,
        )
        .join(products, products.c.id == promotions.c.product_id)
        .where(
            promotions.c.source == source,
            promotions.c.external_id.is_not(None),
            products.c.store_id == store_id,
        )
    )
    return {
        row.external_id: KnownPromotion(
            row.id, row.product_id, (row.price_minor, _aware(row.starts_at), _aware(row.ends_at))
        )
        for row in session.execute(query)
    }


def apply_promotions(
    session: Session,
    catalogue: Catalogue,
    known: dict[str, KnownPromotion],
    records: Sequence[PromotionRecord],
    *,
    now: datetime,
    source: str,
) -> PageChanges:
    """Upsert promotions by (source, external id); their products count as changed (and get
    `updated_at` bumped, since the label shows the promotion) when one is new or its price or
    dates changed. A promotion for an unknown product, or in another currency, is rejected."""
    catalogue.ensure(session, (r.key for r in records))
    result = PageChanges()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for record in records:
        product = catalogue.by_gtin.get(record.key)
        rejection = _promotion_rejection(record, product)
        if rejection:
            result.rejections.append(rejection)
            continue
        assert product is not None  # _promotion_rejection refused the unknown ones
        terms = (record.price_minor, record.starts_at, record.ends_at)
        previous = known.get(record.external_id)
        if previous and previous.terms == terms and previous.product_id == product.id:
            result.unchanged += 1
            continue
        row = {
            "product_id": product.id,
            "price_minor": record.price_minor,
            "starts_at": record.starts_at,
            "ends_at": record.ends_at,
        }
        if previous:
            updates.append({**row, "promotion_id": previous.id})
            result.changed_ids.add(previous.product_id)
            previous.terms, previous.product_id = terms, product.id
        else:
            inserts.append({**row, "source": source, "external_id": record.external_id})
        result.changed_ids.add(product.id)
        result.changed += 1
    if inserts:
        statement = insert(promotions).returning(promotions.c.id, sort_by_parameter_order=True)
        ids = session.execute(statement, inserts).scalars().all()
        for promotion_id, row in zip(ids, inserts, strict=True):
            known[row["external_id"]] = KnownPromotion(
                promotion_id,
                row["product_id"],
                (row["price_minor"], row["starts_at"], row["ends_at"]),
            )
    if updates:
        session.execute(
            update(promotions).where(promotions.c.id == bindparam("promotion_id")), updates
        )
    touch_products(session, sorted(result.changed_ids), now=now)
    return result


def end_promotions(
    session: Session,
    known: dict[str, KnownPromotion],
    external_ids: Iterable[str],
    *,
    now: datetime,
) -> tuple[int, set[int]]:
    """End the named promotions that have not ended yet (a cancel, or a full snapshot that no
    longer lists them): how many ended, and the ids of their products, whose labels must
    re-render. Ending one already ended changes nothing, so a re-run is a no-op."""
    updates: list[dict[str, Any]] = []
    product_ids: set[int] = set()
    for external_id in sorted(set(external_ids)):
        promotion = known.get(external_id)
        if promotion is None:
            continue
        price_minor, starts_at, ends_at = promotion.terms
        ended_at = promotion_end(starts_at, ends_at, now)
        if ended_at == _aware(ends_at):
            continue
        updates.append({"promotion_id": promotion.id, "ends_at": ended_at})
        promotion.terms = (price_minor, starts_at, ended_at)
        product_ids.add(promotion.product_id)
    if updates:
        session.execute(
            update(promotions).where(promotions.c.id == bindparam("promotion_id")), updates
        )
        touch_products(session, sorted(product_ids), now=now)
    return len(updates), product_ids


def promotion_end(starts_at: datetime, ends_at: datetime, now: datetime) -> datetime:
    """When a promotion cancelled at `now` ends: now if it is running, its start if it has
    not begun (so it never shows), unchanged if it is over already."""
    if _aware(ends_at) <= now:
        return _aware(ends_at)
    return max(_aware(starts_at), now)


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back naive; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _promotion_rejection(record: PromotionRecord, product: KnownProduct | None) -> Rejection | None:
    if product is None:
        return Rejection(record, "gtin", f"unknown product {record.gtin} in this store")
    if record.currency != product.price[1]:
        return Rejection(
            record,
            "currency",
            f"{record.currency} differs from the product's price currency {product.price[1]}",
        )
    return None


def touch_products(session: Session, product_ids: Sequence[int], *, now: datetime) -> None:
    """Bump `updated_at` so label refresh (and a resumed run) sees these products changed."""
    for start in range(0, len(product_ids), _CHUNK):
        chunk = product_ids[start : start + _CHUNK]
        session.execute(update(products).where(products.c.id.in_(chunk)).values(updated_at=now))
