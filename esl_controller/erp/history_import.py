"""Price history exported from the ERP, imported once so the 30-day prior price is known.

A fresh install has no history: every promotion label would say "prior price not available"
for 30 days. `esl-controller history import FILE` reads a CSV export (`gtin;price;effective_at`)
and writes each valid row as a `PriceHistory` row with source `erp_import`.

Each row is judged alone: an unknown GTIN, a bad price, a bad or future time refuse that row
(with its row number and a reason that quotes at most the field), never the file. A row the
history already has (same product, same `effective_at`) is skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit
from esl_controller.catalogue.gtin import gtin_key
from esl_controller.erp.apply import Catalogue
from esl_controller.erp.feeds.csv_feed import comma_decimal, sniff_delimiter
from esl_controller.erp.records import (
    EARLIEST,
    RecordError,
    parse_gtin,
    parse_price_minor,
    parse_utc_datetime,
)
from esl_controller.models import PriceHistory, Store

SOURCE = "erp_import"
COLUMNS = ("gtin", "price", "effective_at")
MAX_FILE_BYTES = 200 * 1024 * 1024  # a decade of daily prices for 50,000 products fits


class HistoryFileError(ValueError):
    """The file as a whole cannot be read (encoding, header): nothing is imported."""


@dataclass(frozen=True)
class HistoryRow:
    row: int  # line number in the file (the header is line 1)
    key: str  # 14-digit GTIN key
    price: str  # decimal text with a dot; minor units need the product's currency
    effective_at: datetime  # aware UTC


@dataclass
class ImportSummary:
    imported: int = 0
    skipped: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    product_ids: set[int] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "refused": len(self.refused),
            "products": len(self.product_ids),
        }


def decode(data: bytes) -> str:
    """UTF-8, with or without a BOM."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryFileError(
            f"byte {exc.start} is not UTF-8; export the history as UTF-8"
        ) from None


def parse_history(
    text: str, timezone: ZoneInfo, now: datetime
) -> tuple[list[HistoryRow], list[tuple[int, str]]]:
    """The valid rows and the refused ones (row number, reason). Pure: text in, data out.

    A bare date is the store-local midnight starting that day; a date-time needs an offset.
    """
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise HistoryFileError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"the header must name {delimiter.join(COLUMNS)}"
        )
    where = {column: header.index(column) for column in COLUMNS}
    rows: list[HistoryRow] = []
    refused: list[tuple[int, str]] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        number = reader.line_num
        try:
            rows.append(_row(number, cells, where, timezone, now))
        except RecordError as exc:
            refused.append((number, str(exc)))
    return rows, refused


def _row(
    number: int, cells: list[str], where: dict[str, int], timezone: ZoneInfo, now: datetime
) -> HistoryRow:
    def cell(column: str) -> str:
        index = where[column]
        return cells[index].strip() if index < len(cells) else ""

    gtin, price, moment = (cell(column) for column in COLUMNS)
    for column, value in zip(COLUMNS, (gtin, price, moment), strict=True):
        if not value:
            raise RecordError(column, "is empty")
    key = gtin_key(parse_gtin(gtin))
    effective_at = _effective_at(moment, timezone)
    if effective_at > now:
        raise RecordError("effective_at", "is in the future; only prices already applied count")
    return HistoryRow(number, key, comma_decimal(price), effective_at)


def _effective_at(value: str, timezone: ZoneInfo) -> datetime:
    if len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise RecordError("effective_at", f"{value[:40]!r} is not an ISO 8601 date") from None
        if day.year < EARLIEST.year:
            raise RecordError("effective_at", f"{value!r} is before {EARLIEST.year}")
        return datetime.combine(day, time(0), timezone).astimezone(UTC)
    return parse_utc_datetime(value, "effective_at")


Progress = Callable[[int, int], None]  # rows handled so far, valid rows in the file


def import_history(
    session: Session,
    store_id: str,
    data: bytes,
    now: datetime,
    *,
    actor: str = audit.CLI_ACTOR,
    progress: Progress | None = None,
) -> ImportSummary:
    """Write the file's valid rows to the price history, in the caller's transaction."""
    if len(data) > MAX_FILE_BYTES:
        raise HistoryFileError(f"the file has {len(data):,} bytes; at most {MAX_FILE_BYTES:,}")
    store = session.get(Store, store_id)
    if store is None:
        raise HistoryFileError(f"store {store_id!r} does not exist; run a sync first")
    try:
        timezone = ZoneInfo(store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HistoryFileError(f"store {store_id!r} has an unknown time zone") from None
    rows, refused = parse_history(decode(data), timezone, now)
    summary = ImportSummary(refused=refused)
    catalogue = Catalogue(store_id)
    catalogue.ensure(session, {row.key for row in rows})
    keys = {row.key for row in rows}
    known = {key: catalogue.by_gtin[key] for key in keys if key in catalogue.by_gtin}
    seen = _existing_moments(session, {product.id for product in known.values()})
    for done, row in enumerate(rows, 1):
        _apply(session, row, known, seen, summary)
        if progress:
            progress(done, len(rows))
    summary.refused.sort()
    audit.record(
        session,
        actor=actor,
        action="price_history.import",
        target=f"store:{store_id}",
        detail=summary.counts(),
    )
    return summary


def _apply(
    session: Session,
    row: HistoryRow,
    known: dict,
    seen: set[tuple[int, datetime]],
    summary: ImportSummary,
) -> None:
    product = known.get(row.key)
    if product is None:
        summary.refused.append((row.row, "gtin: no product of this store has this GTIN"))
        return
    _, currency = product.price
    try:
        price_minor = parse_price_minor(row.price, currency)
    except RecordError as exc:
        summary.refused.append((row.row, str(exc)))
        return
    if price_minor == 0:
        summary.refused.append((row.row, "price: is zero"))
        return
    moment = (product.id, row.effective_at)
    if moment in seen:
        summary.skipped += 1
        return
    seen.add(moment)
    session.add(
        PriceHistory(
            product_id=product.id,
            price_minor=price_minor,
            effective_at=row.effective_at,
            source=SOURCE,
        )
    )
    summary.imported += 1
    summary.product_ids.add(product.id)


def _existing_moments(session: Session, product_ids: Iterable[int]) -> set[tuple[int, datetime]]:
    ids = list(product_ids)
    moments: set[tuple[int, datetime]] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = session.execute(
            select(PriceHistory.product_id, PriceHistory.effective_at).where(
                PriceHistory.product_id.in_(chunk)
            )
        )
        for product_id, effective_at in rows:
            moments.add((product_id, _aware(effective_at)))
    return moments


def _aware(moment: datetime) -> datetime:
    # SQLite hands a DATETIME back naive; every stored time is UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
