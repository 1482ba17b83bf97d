"""Odoo's JSON-2 API reshaped into the generic feed records (docs/erp.md, Odoo section).

Prices: the variant's `lst_price` under the one configured pricelist (`pricelist.py`), for one
item, sale taxes added when the shelf shows VAT-inclusive prices (`taxes.py`). Dated rules
become promotions; every other rule is the regular price. Units come from the unit's category
and factor (`units.py`). Every call carries `allowed_company_ids`, so another company's
products, rules and taxes never reach a label, and the store's warehouse (or location), so
`qty_available` counts this store's stock only.

Incremental runs: `qty_available` is computed, so a product's write_date does not move when
it sells. The feed asks for done stock moves into or out of the store's locations since the
watermark and re-reads those products. Moves, not quants: Odoo deletes a quant that reaches
zero, and the sale that emptied the shelf must still arrive. The pricelist is read whole on
every run (it is small), so a changed or deleted rule re-prices what it touched: the stream's
validator carries a digest of the regular-price rules (any change re-reads every product) and
the list of promotions the last run listed (one that is gone is sent as cancelled).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from esl_controller.erp.feeds.base import FeedError, FeedPage, check_stream
from esl_controller.erp.feeds.odoo import pricelist as rules_
from esl_controller.erp.feeds.odoo.client import OdooClient
from esl_controller.erp.feeds.odoo.taxes import SaleTax, TaxRefused, with_taxes
from esl_controller.erp.feeds.odoo.units import (
    STANDARD_UNITS,
    OdooUnit,
    RelativeUnit,
    ShelfUnit,
    UnitRefused,
    shelf_unit,
    shelf_unit_relative,
)
from esl_controller.erp.records import format_utc
from esl_controller.labels.price_format import CURRENCY_DECIMALS

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"  # Odoo stores and sends datetimes as naive UTC
PRODUCT_FIELDS = [
    "id", "barcode", "display_name", "lst_price", "standard_price", "currency_id",
    "write_date", "active", "sale_ok", "qty_available", "uom_id", "weight",
    "product_tmpl_id", "categ_id", "taxes_id",
]  # fmt: skip
RULE_FIELDS = [
    "id", "pricelist_id", "applied_on", "compute_price", "base", "base_pricelist_id",
    "product_id", "product_tmpl_id", "categ_id", "min_quantity", "date_start", "date_end",
    "fixed_price", "percent_price", "price_discount", "price_markup", "price_surcharge",
    "price_round",
    "price_min_margin", "price_max_margin", "write_date",
]  # fmt: skip
# What a promotion's price needs of a product.
PRICED_FIELDS = [
    "id", "barcode", "lst_price", "standard_price", "product_tmpl_id", "categ_id", "taxes_id",
    "currency_id",
]  # fmt: skip
PROMOTIONS_VALIDATOR = "odoo-promotions:"
RULES_VALIDATOR = "odoo-rules:"


@dataclass(frozen=True)
class OdooScope:
    """Whose prices and stock: one pricelist, one company, one warehouse or location."""

    pricelist_id: int = 0  # 0: no pricelist, the variant's sales price
    company_id: int = 0  # 0: the API key user's default company
    warehouse_id: int = 0
    location_id: int = 0
    prices_include_tax: bool = True


@dataclass
class _Pricing:
    """What one run learnt of the pricelist, read once per stream."""

    currency: str | None  # the pricelist's; None: each product's own
    rules: list[rules_.Rule]
    base_pricelists: dict[int, list[rules_.Rule]]
    rules_digest: str
    stock_locations: list[int] = field(default_factory=list)


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
        scope: OdooScope | None = None,
        product_fields: list[str] | None = None,
        clock: Any = None,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        if currency not in CURRENCY_DECIMALS:
            raise ValueError(f"unknown default currency {currency!r}")
        self.client = OdooClient(base_url, session, database)
        self.page_size = page_size
        self.currency = currency
        self.scope = scope or OdooScope()
        # Without Odoo's stock app there is no qty_available; pass a list without it.
        self.product_fields = product_fields or PRODUCT_FIELDS
        self.clock = clock or (lambda: datetime.now(UTC))
        self._uom_cache: dict[int, OdooUnit] = {}
        self._category_xml_ids: dict[int, str] = {}
        self._relative_units: bool | None = None  # Odoo 19's unit trees; None: not asked yet
        self._standard_units: dict[str, RelativeUnit] | None = None

    # --- the feed protocol ---------------------------------------------------------------

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        etag: str | None = None,
    ) -> Iterator[FeedPage]:
        check_stream(stream)
        pricing = self._pricing()
        if stream == "products":
            yield from self._product_pages(pricing, since, _offset(cursor), etag)
        else:
            yield from self._promotion_pages(pricing, since, _offset(cursor), etag)

    def call(self, model: str, method: str, body: dict[str, Any]) -> Any:
        return self.client.call(model, method, body)

    # --- context -------------------------------------------------------------------------

    def context(self, *, archived: bool = False) -> dict[str, Any]:
        """Odoo's context for every call: the company, and the store's stock location."""
        context: dict[str, Any] = {}
        if self.scope.company_id:
            context["allowed_company_ids"] = [self.scope.company_id]
        if self.scope.location_id:
            context["location"] = self.scope.location_id
        elif self.scope.warehouse_id:
            context["warehouse_id"] = self.scope.warehouse_id
        if archived:
            context["active_test"] = False
        return context

    def _company_domain(self) -> list:
        if not self.scope.company_id:
            return []
        return [["company_id", "in", [False, self.scope.company_id]]]

    # --- pricing -------------------------------------------------------------------------

    def _pricing(self) -> _Pricing:
        currency: str | None = None
        rules: list[rules_.Rule] = []
        bases: dict[int, list[rules_.Rule]] = {}
        raw_rules: list[dict] = []
        if self.scope.pricelist_id:
            currency, raw_rules = self._pricelist(self.scope.pricelist_id)
            rules = [parse_rule(row) for row in raw_rules]
            pending = {r.base_pricelist_id for r in rules if r.base_pricelist_id}
            while pending - bases.keys():
                base_id = min(pending - bases.keys())
                _, base_rows = self._pricelist(base_id, required=False)
                bases[base_id] = [parse_rule(row) for row in base_rows]
                raw_rules.extend(base_rows)
                pending |= {r.base_pricelist_id for r in bases[base_id] if r.base_pricelist_id}
        regular = sorted(
            (row["id"], str(row.get("write_date")), row.get("pricelist_id"))
            for row in raw_rules
            if not (row.get("date_start") and row.get("date_end"))
        )
        digest = hashlib.sha256(repr(regular).encode()).hexdigest()[:32]
        return _Pricing(currency, rules, bases, digest, self._stock_locations())

    def _pricelist(self, pricelist_id: int, *, required: bool = True) -> tuple[str, list[dict]]:
        found = self.client.read(
            "product.pricelist",
            [pricelist_id],
            ["id", "active", "currency_id"],
            context=self.context(archived=True),
        )
        if not found or not found[0].get("active", True):
            if not required:
                return self.currency, []  # an archived base pricelist has no rules, as in Odoo
            state = "archived" if found else "not found (or of another company)"
            raise FeedError(f"Odoo pricelist {pricelist_id} (ESL_ODOO_PRICELIST) is {state}")
        currency = str(_many2one_name(found[0].get("currency_id")) or self.currency)
        rows = self.client.search_read(
            "product.pricelist.item",
            [["pricelist_id", "=", pricelist_id]],
            RULE_FIELDS,
            order="id",
            context=self.context(),
        )
        return currency, rows

    def _stock_locations(self) -> list[int]:
        if self.scope.location_id:
            return [self.scope.location_id]
        if not self.scope.warehouse_id:
            return []
        rows = self.client.read(
            "stock.warehouse",
            [self.scope.warehouse_id],
            ["id", "view_location_id"],
            context=self.context(),
        )
        if not rows:
            raise FeedError(
                f"Odoo warehouse {self.scope.warehouse_id} (ESL_ODOO_WAREHOUSE) is not found "
                "or belongs to another company"
            )
        return [i for i in [_many2one_id(rows[0].get("view_location_id"))] if i]

    # --- products ------------------------------------------------------------------------

    def _product_pages(
        self, pricing: _Pricing, since: datetime | None, offset: int, etag: str | None
    ) -> Iterator[FeedPage]:
        validator = RULES_VALIDATOR + pricing.rules_digest
        domain = self._product_domain(pricing, since, etag != validator)
        archived = since is not None
        while True:
            rows = self.client.search_read(
                "product.product",
                domain,
                self.product_fields,
                limit=self.page_size,
                offset=offset,
                order="id",
                context=self.context(archived=archived),
            )
            records = self._product_records(rows, pricing)
            next_cursor = str(offset + len(rows)) if len(rows) == self.page_size else None
            cursor = None if offset == 0 else str(offset)
            yield FeedPage("products", records, cursor, next_cursor, etag=validator)
            if next_cursor is None:
                return
            offset += len(rows)

    def _product_domain(self, pricing: _Pricing, since: datetime | None, repriced: bool) -> list:
        domain: list = [["barcode", "!=", False], *self._company_domain()]
        if since is None:
            # A full snapshot lists what is on sale; anything missing from it gets delisted.
            return [*domain, ["sale_ok", "=", True]]
        if repriced:
            return domain  # a rule changed or went: every price may have moved
        moved = self._moved_products(since, pricing.stock_locations)
        changed: list = ["write_date", ">", _odoo_format(since)]
        if not moved:
            return [*domain, changed]
        return [*domain, "|", changed, ["id", "in", moved]]

    def _moved_products(self, since: datetime, locations: list[int]) -> list[int]:
        """Products with stock moves done into or out of the store's locations since then."""
        if not _reads_stock(self):
            return []
        if not locations:
            location_domain: list = []
        else:
            location_domain = [
                "|",
                ["location_id", "child_of", locations],
                ["location_dest_id", "child_of", locations],
            ]
        rows = self.client.search_read(
            "stock.move",
            [["state", "=", "done"], ["write_date", ">", _odoo_format(since)], *location_domain],
            ["product_id"],
            context=self.context(),
        )
        return sorted({i for row in rows if (i := _many2one_id(row.get("product_id")))})

    def _product_records(self, rows: list[dict], pricing: _Pricing) -> list[dict]:
        categories = self._category_parents(rows)
        units = self._units(rows)
        taxes = self._taxes(rows)
        now = self.clock()
        records = []
        for row in rows:
            product = shelf_product(row, categories)
            resolved = rules_.regular_price(
                pricing.rules, product, now, base_pricelists=pricing.base_pricelists
            )
            currency = pricing.currency or self._own_currency(row)
            record = self._product_record(row, resolved.price, currency, taxes)
            self._add_unit(record, row, units)
            records.append(record)
        return records

    def _own_currency(self, row: dict) -> str:
        return str(_many2one_name(row.get("currency_id")) or self.currency)

    def _product_record(
        self, row: dict, price: Decimal, currency: str, taxes: dict[int, SaleTax]
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "_odoo_id": row.get("id"),
            "gtin": row.get("barcode") or None,
            "name": row.get("display_name") or None,
            "price": self._shelf_price(row, price, currency, taxes),
            "currency": currency,
            "status": "active"
            if row.get("active", True) and row.get("sale_ok", True)
            else "delisted",
            "modified_at": odoo_datetime(row.get("write_date")),
        }
        stock = row.get("qty_available")
        if isinstance(stock, int | float) and not isinstance(stock, bool):
            record["stock"] = max(0, int(stock))  # oversold (negative) stock shows as none left
        return record

    def _shelf_price(
        self, row: dict, price: Decimal, currency: str, taxes: dict[int, SaleTax]
    ) -> Any:
        if self.scope.prices_include_tax:
            product_taxes = [taxes[i] for i in row.get("taxes_id") or [] if i in taxes]
            try:
                price = with_taxes(price, product_taxes)
            except TaxRefused as exc:
                return f"not priced: {exc}"  # refused by validation, with this reason
        decimals = CURRENCY_DECIMALS.get(currency)
        if decimals is None:
            return format(price, "f")
        minor = rules_.to_minor(price, decimals)
        return format(Decimal(minor).scaleb(-decimals), "f")

    def _add_unit(self, record: dict, row: dict, units: dict[int, ShelfUnit | UnitRefused]) -> None:
        shelf = units.get(_many2one_id(row.get("uom_id")) or -1)
        weight = row.get("weight")
        if shelf is None:
            return
        if isinstance(shelf, UnitRefused):
            record["_unit_refused"] = str(shelf)
            return
        quantity = format(shelf.net_quantity, "f")
        if shelf.unit != "piece":
            record.update(net_quantity=quantity, unit=shelf.unit)
        elif shelf.net_quantity != 1:
            record.update(net_quantity=quantity, unit="piece")
        elif isinstance(weight, int | float) and not isinstance(weight, bool) and weight > 0:
            record.update(net_quantity=str(weight), unit="kg")  # a pack: Odoo's weight is kg

    def _category_parents(self, rows: list[dict]) -> dict[int, tuple[int, ...]]:
        ids = sorted({i for row in rows if (i := _many2one_id(row.get("categ_id")))})
        found = self.client.read("product.category", ids, ["id", "parent_path"])
        parents = {}
        for category in found:
            path = str(category.get("parent_path") or category["id"])
            parents[category["id"]] = tuple(int(p) for p in path.strip("/").split("/") if p)
        return parents

    def _units(self, rows: list[dict]) -> dict[int, ShelfUnit | UnitRefused]:
        """Each product unit as a shelf unit, or why it has none; Odoo 19's unit trees or the
        categories before them, whichever this server has."""
        ids = sorted({i for row in rows if (i := _many2one_id(row.get("uom_id")))})
        if not ids:
            return {}
        if self._relative_units is None:
            described = self.client.call("uom.uom", "fields_get", {"attributes": ["type"]})
            self._relative_units = isinstance(described, dict) and "relative_uom_id" in described
        if self._relative_units:
            return self._relative_shelf_units(ids)
        return self._category_shelf_units(ids)

    def _relative_shelf_units(self, ids: list[int]) -> dict[int, ShelfUnit | UnitRefused]:
        if self._standard_units is None:
            names = [xml_id.split(".", 1)[1] for xml_id in STANDARD_UNITS]
            data = self.client.search_read(
                "ir.model.data",
                [["model", "=", "uom.uom"], ["module", "=", "uom"], ["name", "in", names]],
                ["module", "name", "res_id"],
            )
            by_id = {d["res_id"]: f"{d['module']}.{d['name']}" for d in data}
            found = self._relative_rows(sorted(by_id))
            self._standard_units = {by_id[u.id]: u for u in found if u.id in by_id}
        result: dict[int, ShelfUnit | UnitRefused] = {}
        for unit in self._relative_rows(ids):
            try:
                result[unit.id] = shelf_unit_relative(unit, self._standard_units)
            except UnitRefused as exc:
                result[unit.id] = exc
        return result

    def _relative_rows(self, ids: list[int]) -> list[RelativeUnit]:
        rows = self.client.read(
            "uom.uom", ids, ["id", "factor", "parent_path"], context=self.context(archived=True)
        )
        return [
            RelativeUnit(
                row["id"],
                _decimal(row.get("factor")),
                tuple(int(p) for p in str(row.get("parent_path") or "").strip("/").split("/") if p),
            )
            for row in rows
        ]

    def _category_shelf_units(self, ids: list[int]) -> dict[int, ShelfUnit | UnitRefused]:
        missing = [i for i in ids if i not in self._uom_cache]
        for row in self.client.read(
            "uom.uom", missing, ["id", "category_id", "factor", "uom_type"], context=self.context()
        ):
            self._uom_cache[row["id"]] = OdooUnit(
                row["id"],
                _many2one_id(row.get("category_id")) or 0,
                _decimal(row.get("factor")),
                str(row.get("uom_type") or ""),
            )
        categories = sorted({u.category_id for u in self._uom_cache.values()})
        unknown = [c for c in categories if c not in self._category_xml_ids]
        if unknown:
            for data in self.client.search_read(
                "ir.model.data",
                [["model", "=", "uom.category"], ["res_id", "in", unknown]],
                ["module", "name", "res_id"],
            ):
                self._category_xml_ids[data["res_id"]] = f"{data['module']}.{data['name']}"
        result: dict[int, ShelfUnit | UnitRefused] = {}
        for i in ids:
            if i not in self._uom_cache:
                continue
            try:
                result[i] = shelf_unit(self._uom_cache[i], self._category_xml_ids)
            except UnitRefused as exc:
                result[i] = exc
        return result

    def _taxes(self, rows: list[dict]) -> dict[int, SaleTax]:
        if not self.scope.prices_include_tax:
            return {}
        ids = sorted({i for row in rows for i in row.get("taxes_id") or []})
        # allowed_company_ids: a product shared between companies lists every company's
        # taxes; only this company's come back.
        found = self.client.read(
            "account.tax",
            ids,
            ["id", "amount_type", "amount", "price_include", "type_tax_use", "company_id"],
            context=self.context(),
        )
        taxes = {}
        for tax in found:
            company = _many2one_id(tax.get("company_id"))
            if self.scope.company_id and company not in (None, self.scope.company_id):
                continue
            if tax.get("type_tax_use", "sale") != "sale":
                continue
            taxes[tax["id"]] = SaleTax(
                tax["id"],
                str(tax.get("amount_type") or "percent"),
                _decimal(tax.get("amount")),
                bool(tax.get("price_include")),
            )
        return taxes

    # --- promotions ----------------------------------------------------------------------

    def _promotion_pages(
        self, pricing: _Pricing, since: datetime | None, offset: int, etag: str | None
    ) -> Iterator[FeedPage]:
        records = self._promotion_records(pricing)
        listed = sorted(record["id"] for record in records)
        if since is not None and etag and etag.startswith(PROMOTIONS_VALIDATOR):
            before = {i for i in etag[len(PROMOTIONS_VALIDATOR) :].split(",") if i}
            records += [
                {"id": gone, "status": "cancelled", "modified_at": format_utc(self.clock())}
                for gone in sorted(before - set(listed))
            ]
        validator = PROMOTIONS_VALIDATOR + ",".join(listed)
        while True:
            page = records[offset : offset + self.page_size]
            full_page = len(page) == self.page_size and offset + len(page) < len(records)
            next_cursor = str(offset + len(page)) if full_page else None
            cursor = None if offset == 0 else str(offset)
            yield FeedPage("promotions", page, cursor, next_cursor, etag=validator)
            if next_cursor is None:
                return
            offset += len(page)

    def _promotion_records(self, pricing: _Pricing) -> list[dict]:
        now = self.clock()
        dated = [r for r in pricing.rules if r.dated and r.date_end >= now]  # type: ignore[operator]
        if not dated:
            return []
        rows = self._products_for(dated)
        categories = self._category_parents(rows)
        taxes = self._taxes(rows)
        by_id = {rule.id: rule for rule in dated}
        records = []
        for row in rows:
            product = shelf_product(row, categories)
            for promotion in rules_.promotions(
                pricing.rules, product, now, base_pricelists=pricing.base_pricelists
            ):
                rule = by_id[promotion.rule_id]
                currency = pricing.currency or self._own_currency(row)
                records.append(
                    {
                        "id": f"odoo-pricelist-item-{rule.id}-variant-{row['id']}",
                        "gtin": row.get("barcode") or None,
                        "price": self._shelf_price(row, promotion.price, currency, taxes),
                        "currency": currency,
                        "starts_at": format_utc(promotion.starts_at),
                        "ends_at": format_utc(promotion.ends_at),
                    }
                )
        return sorted(records, key=lambda record: record["id"])

    def _products_for(self, rules: list[rules_.Rule]) -> list[dict]:
        """Every product on sale that one of these rules may target, all pages."""
        targets: list[list] = []
        if any(r.applied_on == rules_.AppliedOn.GLOBAL for r in rules):
            targets = []
        else:
            variants = sorted({r.variant_id for r in rules if r.variant_id})
            templates = sorted({r.template_id for r in rules if r.template_id})
            categories = sorted({r.category_id for r in rules if r.category_id})
            if variants:
                targets.append(["id", "in", variants])
            if templates:
                targets.append(["product_tmpl_id", "in", templates])
            if categories:
                targets.append(["categ_id", "child_of", categories])
        domain: list = [
            ["barcode", "!=", False],
            ["sale_ok", "=", True],
            *self._company_domain(),
            *(["|"] * (len(targets) - 1)),
            *targets,
        ]
        rows: list[dict] = []
        while True:
            page = self.client.search_read(
                "product.product",
                domain,
                PRICED_FIELDS,
                limit=self.page_size,
                offset=len(rows),
                order="id",
                context=self.context(),
            )
            rows.extend(page)
            if len(page) < self.page_size:
                return rows


def _reads_stock(feed: OdooFeed) -> bool:
    return "qty_available" in feed.product_fields


def parse_rule(row: dict) -> rules_.Rule:
    """A `product.pricelist.item` row as a rule; a value Odoo would never send is a FeedError
    (the whole pricelist is at stake, not one record)."""
    try:
        return rules_.Rule(
            id=int(row["id"]),
            applied_on=rules_.AppliedOn(row.get("applied_on") or "3_global"),
            compute_price=rules_.ComputePrice(row.get("compute_price") or "fixed"),
            base=rules_.PriceBase(row.get("base") or "list_price"),
            base_pricelist_id=_many2one_id(row.get("base_pricelist_id")),
            variant_id=_many2one_id(row.get("product_id")),
            template_id=_many2one_id(row.get("product_tmpl_id")),
            category_id=_many2one_id(row.get("categ_id")),
            category_name=str(_many2one_name(row.get("categ_id")) or ""),
            min_quantity=_decimal(row.get("min_quantity")),
            date_start=_odoo_moment(row.get("date_start")),
            date_end=_odoo_moment(row.get("date_end")),
            fixed_price=_decimal(row.get("fixed_price")),
            percent_price=_decimal(row.get("percent_price")),
            price_discount=_decimal(row.get("price_discount")),
            price_markup=_decimal(row.get("price_markup")),
            price_surcharge=_decimal(row.get("price_surcharge")),
            price_round=_decimal(row.get("price_round")),
            price_min_margin=_decimal(row.get("price_min_margin")),
            price_max_margin=_decimal(row.get("price_max_margin")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FeedError(f"Odoo pricelist rule {row.get('id')!r} cannot be read: {exc}") from None


def shelf_product(row: dict, categories: dict[int, tuple[int, ...]]) -> rules_.ShelfProduct:
    category = _many2one_id(row.get("categ_id"))
    return rules_.ShelfProduct(
        variant_id=int(row["id"]),
        template_id=_many2one_id(row.get("product_tmpl_id")) or 0,
        category_ids=categories.get(category or 0, (category,) if category else ()),
        list_price=_decimal(row.get("lst_price")),
        cost=_decimal(row.get("standard_price")),
    )


def odoo_price(value: Any, currency: str) -> Any:
    """Odoo's float price as a decimal string with the currency's decimals ("12.99", "5.00").

    A float with more decimals than the currency has (12.999, or float noise such as
    0.30000000000000004) is passed on unrounded so validation refuses it with the reason.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    amount = Decimal(str(value))  # str() first: the float's shortest repr, not its binary
    decimals = CURRENCY_DECIMALS.get(currency)
    if not amount.is_finite() or decimals is None:
        return value if not amount.is_finite() else format(amount, "f")
    exact = amount.quantize(Decimal(1).scaleb(-decimals))
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


def _odoo_moment(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, ODOO_DATETIME).replace(tzinfo=UTC)


def _decimal(value: Any) -> Decimal:
    """Odoo floats as decimals through their shortest repr (12.99, not 12.9899999...)."""
    if value is None or value is False:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return amount


def _odoo_format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ODOO_DATETIME)


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
