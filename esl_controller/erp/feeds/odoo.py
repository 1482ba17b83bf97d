"""Odoo's JSON-2 API (Odoo 19+) reshaped into the generic feed records.

`POST {url}/json/2/{model}/{method}` with a JSON object of named arguments and
`Authorization: bearer <API key>` (the session carries it); `X-Odoo-Database` when the server
hosts several databases. Products come from `product.product`, promotions from the fixed-price
rules of `product.pricelist.item`. Paging is `limit`/`offset` ordered by id; cursor = offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from esl_controller.erp.feeds.base import FeedError, FeedPage, check_stream
from esl_controller.erp.http import send
from esl_controller.erp.records import format_utc
from esl_controller.labels.price_format import CURRENCY_DECIMALS

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"  # Odoo stores and sends datetimes as naive UTC
PRODUCT_FIELDS = [
    "id", "barcode", "display_name", "list_price", "currency_id", "write_date", "active",
    "sale_ok", "qty_available", "uom_id", "weight",
]  # fmt: skip
PROMOTION_FIELDS = [
    "id", "fixed_price", "currency_id", "date_start", "date_end", "product_id",
    "product_tmpl_id", "write_date",
]  # fmt: skip
# Odoo unit-of-measure names -> the units unit pricing understands; anything else is a piece.
UOM_UNITS = {
    "kg": "kg", "g": "g", "l": "l", "liters": "l", "litre": "l", "ml": "ml",
    "m": "m", "cm": "cm",
}  # fmt: skip


class OdooFeed:
    name = "odoo"
    supports_incremental = True

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        page_size: int = 500,
        *,
        database: str = "",
        currency: str = "RON",
        product_fields: list[str] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if currency not in CURRENCY_DECIMALS:
            raise ValueError(f"unknown default currency {currency!r}")
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.page_size = page_size
        self.database = database
        self.currency = currency
        # Without Odoo's stock app there is no qty_available; pass a list without it.
        self.product_fields = product_fields or PRODUCT_FIELDS

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        etag: str | None = None,  # Odoo sends no ETag; unused
    ) -> Iterator[FeedPage]:
        check_stream(stream)
        offset = _offset(cursor)
        while True:
            rows = self._search_read(stream, since, offset)
            records = self._products(rows) if stream == "products" else self._promotions(rows)
            full_page = len(rows) == self.page_size
            next_cursor = str(offset + len(rows)) if full_page else None
            yield FeedPage(stream, records, None if offset == 0 else str(offset), next_cursor)
            if next_cursor is None:
                return
            offset += len(rows)

    def call(self, model: str, method: str, body: dict[str, Any]) -> Any:
        """One JSON-2 call; the decoded return value of `model.method(**body)`."""
        url = f"{self.base_url}/json/2/{model}/{method}"
        headers = {"X-Odoo-Database": self.database} if self.database else {}
        response = send(
            self.session, "POST", url, what=f"Odoo {model}.{method}", json=body, headers=headers
        )
        try:
            return response.json()
        except ValueError as exc:
            raise FeedError(f"Odoo {model}.{method} at {url}: body is not JSON ({exc})") from None

    def _search_read(self, stream: str, since: datetime | None, offset: int) -> list[dict]:
        if stream == "products":
            model, domain, fields = "product.product", _product_domain(since), self.product_fields
        else:
            model, domain, fields = "product.pricelist.item", _promotion_domain(since), None
        body: dict[str, Any] = {
            "domain": domain,
            "fields": fields or PROMOTION_FIELDS,
            "limit": self.page_size,
            "offset": offset,
            "order": "id",
        }
        if since is not None:
            # Incremental: archived products must come too, so their labels can be delisted.
            body["context"] = {"active_test": False}
        rows = self.call(model, "search_read", body)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise FeedError(f"Odoo {model}.search_read: expected a list of records")
        return rows

    def _products(self, rows: list[dict]) -> list[dict]:
        return [product_record(row, self.currency) for row in rows]

    def _promotions(self, rows: list[dict]) -> list[dict]:
        barcodes = self._variant_barcodes(rows)
        records = []
        for row in rows:
            variants = barcodes.get(_many2one_id(row.get("product_id")) or -1)
            if variants is None:
                variants = barcodes.get(("tmpl", _many2one_id(row.get("product_tmpl_id"))), [])
            records.extend(promotion_records(row, variants, self.currency))
        return records

    def _variant_barcodes(self, rows: list[dict]) -> dict[Any, list[tuple[int, str | None]]]:
        """(variant id, barcode) per pricelist target: a variant id, or ("tmpl", id) for a rule
        on a product template, which applies to each of its variants."""
        variant_ids = sorted({i for row in rows if (i := _many2one_id(row.get("product_id")))})
        template_ids = sorted(
            {
                i
                for row in rows
                if not _many2one_id(row.get("product_id"))
                and (i := _many2one_id(row.get("product_tmpl_id")))
            }
        )
        found: dict[Any, list[tuple[int, str | None]]] = {}
        context = {"active_test": False}
        if variant_ids:
            body = {"ids": variant_ids, "fields": ["barcode"], "context": context}
            for variant in self.call("product.product", "read", body):
                found[variant["id"]] = [(variant["id"], variant.get("barcode") or None)]
        if template_ids:
            body = {
                "domain": [["product_tmpl_id", "in", template_ids]],
                "fields": ["barcode", "product_tmpl_id"],
                "order": "id",
                "context": context,
            }
            for variant in self.call("product.product", "search_read", body):
                key = ("tmpl", _many2one_id(variant.get("product_tmpl_id")))
                found.setdefault(key, []).append((variant["id"], variant.get("barcode") or None))
        return found


def product_record(row: dict, default_currency: str) -> dict:
    """A `product.product` row as a generic product record (validated later, like any feed)."""
    currency = _currency(row, default_currency)
    unit = UOM_UNITS.get(str(_many2one_name(row.get("uom_id")) or "").strip().lower())
    weight = row.get("weight")
    record: dict[str, Any] = {
        "_odoo_id": row.get("id"),
        "gtin": row.get("barcode") or None,
        "name": row.get("display_name") or None,
        "price": odoo_price(row.get("list_price"), currency),
        "currency": currency,
        "status": "active" if row.get("active", True) and row.get("sale_ok", True) else "delisted",
        "modified_at": odoo_datetime(row.get("write_date")),
    }
    if unit:
        # Sold by weight/volume/length: the list price is per one such unit.
        record.update(net_quantity="1", unit=unit)
    elif isinstance(weight, int | float) and weight > 0:
        record.update(net_quantity=str(weight), unit="kg")  # Odoo's weight is in kg
    stock = row.get("qty_available")
    if isinstance(stock, int | float) and not isinstance(stock, bool):
        record["stock"] = max(0, int(stock))  # oversold (negative) stock shows as none left
    return record


def promotion_records(
    row: dict, variants: list[tuple[int, str | None]], default_currency: str
) -> list[dict]:
    """One generic promotion per product a fixed-price rule covers. A rule on a template with
    several variants gives one promotion per variant (each label has its own GTIN)."""
    currency = _currency(row, default_currency)
    base_id = f"odoo-pricelist-item-{row.get('id')}"
    if not variants:
        variants = [(0, None)]  # the product has no barcode: dead-lettered as "gtin: required"
    return [
        {
            "id": base_id if len(variants) == 1 else f"{base_id}-variant-{variant_id}",
            "gtin": barcode,
            "price": odoo_price(row.get("fixed_price"), currency),
            "currency": currency,
            "starts_at": odoo_datetime(row.get("date_start")),
            "ends_at": odoo_datetime(row.get("date_end")),
            "modified_at": odoo_datetime(row.get("write_date")),
        }
        for variant_id, barcode in variants
    ]


def odoo_price(value: Any, currency: str) -> Any:
    """Odoo's float price as a decimal string with the currency's decimals ("12.99", "5.00").

    A float with more decimals than the currency has (12.999, or float noise such as
    0.30000000000000004) is passed on unrounded so validation refuses it with the reason.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    try:
        amount = Decimal(str(value))  # str() first: the float's shortest repr, not its binary
    except InvalidOperation:
        return value
    decimals = CURRENCY_DECIMALS.get(currency)
    if not amount.is_finite() or decimals is None:
        return value if not amount.is_finite() else format(amount, "f")
    quantum = Decimal(1).scaleb(-decimals)
    exact = amount.quantize(quantum)
    return format(exact, "f") if exact == amount else format(amount, "f")


def odoo_datetime(value: Any) -> str | None:
    """Odoo's "2026-11-23 10:00:00" (naive, always UTC) as ISO 8601 with Z; False -> None."""
    if not value:
        return None
    try:
        moment = datetime.strptime(value, ODOO_DATETIME).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return value  # left for validation to refuse with the field name
    return format_utc(moment)


def _product_domain(since: datetime | None) -> list:
    domain: list = [["barcode", "!=", False]]
    if since is None:
        # A full snapshot lists what is on sale; anything missing from it gets delisted.
        return [*domain, ["sale_ok", "=", True]]
    return [*domain, ["write_date", ">", _odoo_format(since)]]


def _promotion_domain(since: datetime | None) -> list:
    # Only dated fixed prices are promotions; an open-ended fixed price is a list price.
    domain: list = [
        ["compute_price", "=", "fixed"],
        ["date_start", "!=", False],
        ["date_end", "!=", False],
    ]
    if since is not None:
        domain.append(["write_date", ">", _odoo_format(since)])
    return domain


def _odoo_format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ODOO_DATETIME)


def _currency(row: dict, default: str) -> str:
    return str(_many2one_name(row.get("currency_id")) or default)


def _many2one_id(value: Any) -> int | None:
    """Odoo sends a many2one as [id, "display name"], or false when empty."""
    return value[0] if isinstance(value, list | tuple) and value else None


def _many2one_name(value: Any) -> str | None:
    return value[1] if isinstance(value, list | tuple) and len(value) > 1 else None


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ValueError(f"an Odoo cursor is a record offset, got {cursor!r}")
    return int(cursor)
