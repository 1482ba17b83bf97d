"""An Odoo stand-in: a real HTTP server speaking Odoo 19's JSON-2 API for the models the
Odoo feed reads, with Odoo's semantics where they decide a shelf price.

Built from Odoo's public sources and documentation (read, not copied):
- the JSON-2 endpoint (odoo/addons/base/controllers/json2 and the "External JSON-2 API"
  docs): `POST /json/2/<model>/<method>`, named arguments as a JSON object,
  `Authorization: bearer <api key>`, `X-Odoo-Database`; errors as Odoo's serialized
  exception `{name, message, arguments, context, debug}`: a refused key 401, Odoo's UserError
  family with its own status (AccessError 403, MissingError 404, UserError and
  ValidationError 422), an unknown route 404, and any other exception 500.
- `env.companies`: without `allowed_company_ids` a call sees every company of the user, so
  multi-company record rules only narrow when the context says which company.
- product.product (addons/product/models/product_product.py): `lst_price` is the template's
  `list_price` plus the variant's `price_extra`; `qty_available` is computed from stock.quant
  (addons/stock/models/product.py, stock_quant.py) in the context's `location` or
  `warehouse_id` (child locations included), else in every internal location the companies
  own; a quant that reaches zero is deleted, as `_unlink_zero_quants` does.
- product.pricelist.item (product_pricelist_item.py): `active` follows its pricelist, so
  rules of an archived pricelist are not found unless `active_test` is off.
- uom.uom (addons/uom/models/uom_uom.py): in Odoo 19 (`version=19`, the default) a unit is
  defined against another (`relative_uom_id`, `relative_factor`), `factor` is its absolute
  quantity of its tree's root and `parent_path` names the tree; there is no uom.category. With
  `version=18` units have a category, a factor and a uom_type. ir.model.data names the
  standard units (19) or categories (18). `fields_get` tells a client which shape it talks to.

Only what the feed uses is here: search_read, read and fields_get, the domain operators =, !=, in,
not in, <, <=, >, >=, child_of and the prefix operators |, &, !.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
MANY2ONE = {
    "product.product": {
        "product_tmpl_id": "product.template",
        "categ_id": "product.category",
        "uom_id": "uom.uom",
        "currency_id": "res.currency",
        "company_id": "res.company",
    },
    "product.pricelist": {"currency_id": "res.currency", "company_id": "res.company"},
    "product.pricelist.item": {
        "pricelist_id": "product.pricelist",
        "product_id": "product.product",
        "product_tmpl_id": "product.template",
        "categ_id": "product.category",
        "base_pricelist_id": "product.pricelist",
        "company_id": "res.company",
    },
    "product.category": {"parent_id": "product.category"},
    "uom.uom": {"category_id": "uom.category", "relative_uom_id": "uom.uom"},
    "account.tax": {"company_id": "res.company"},
    "stock.warehouse": {
        "view_location_id": "stock.location",
        "lot_stock_id": "stock.location",
        "company_id": "res.company",
    },
    "stock.location": {"location_id": "stock.location", "company_id": "res.company"},
    "stock.quant": {
        "product_id": "product.product",
        "location_id": "stock.location",
        "company_id": "res.company",
    },
    "stock.move": {
        "product_id": "product.product",
        "location_id": "stock.location",
        "location_dest_id": "stock.location",
        "company_id": "res.company",
    },
}
HIERARCHIES = {"product.category": "parent_id", "stock.location": "location_id"}
STANDARD_UOM_CATEGORIES = {
    "weight": "product_uom_categ_kgm",
    "volume": "product_uom_categ_vol",
    "length": "uom_categ_length",
    "unit": "product_uom_categ_unit",
}


@dataclass
class Fault:
    status: int
    name: str
    message: str
    model: str = ""  # empty: any model


class OdooError(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


def odoo_now() -> str:
    return datetime.now(UTC).strftime(ODOO_DATETIME)


class OdooStandIn:
    """`with OdooStandIn() as odoo:` serves on `odoo.url`; build data with the helpers."""

    def __init__(
        self, api_key: str = "odoo-api-key", database: str = "shop", version: int = 19
    ) -> None:
        self.api_key = api_key
        self.version = version
        self.database = database
        self.tables: dict[str, dict[int, dict]] = {}
        self.xml_ids: list[dict] = []
        self.faults: list[Fault] = []
        self.stalls: list[tuple[str, float]] = []  # (model, seconds): answer that late, once
        self.forbidden: set[str] = set()
        self.calls: list[tuple[str, str, dict]] = []
        self.user_companies: list[int] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.currency("RON")

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> OdooStandIn:
        handler = type("Handler", (_Handler,), {"odoo": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None, "the stand-in is not serving"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- data -----------------------------------------------------------------------------

    def create(self, model: str, **values: Any) -> int:
        with self._lock:
            table = self.tables.setdefault(model, {})
            new_id = max(table, default=0) + 1
            table[new_id] = {"id": new_id, "write_date": odoo_now(), **values}
            return new_id

    def write(self, model: str, record_id: int, **values: Any) -> None:
        with self._lock:
            self.tables[model][record_id].update(values, write_date=odoo_now())

    def unlink(self, model: str, record_id: int) -> None:
        with self._lock:
            del self.tables[model][record_id]

    def currency(self, code: str) -> int:
        return self.create("res.currency", name=code, display_name=code)

    def company(self, name: str, currency: int = 1) -> int:
        company = self.create("res.company", name=name, display_name=name, currency_id=currency)
        self.user_companies.append(company)
        return company

    def category(self, name: str, parent: int | None = None) -> int:
        full = (
            name
            if parent is None
            else f"{self.tables['product.category'][parent]['complete_name']} / {name}"
        )
        return self.create(
            "product.category",
            name=name,
            complete_name=full,
            display_name=full,
            parent_id=parent or False,
        )

    def uom_category(self, name: str, standard: str = "") -> int:
        category = self.create("uom.category", name=name, display_name=name)
        if standard:
            self.xml_ids.append(
                {
                    "module": "uom",
                    "name": STANDARD_UOM_CATEGORIES[standard],
                    "model": "uom.category",
                    "res_id": category,
                }
            )
        return category

    def uom(
        self, name: str, category: int, factor: float = 1.0, uom_type: str = "reference"
    ) -> int:
        return self.create(
            "uom.uom",
            name=name,
            display_name=name,
            category_id=category,
            factor=factor,
            uom_type=uom_type,
            active=True,
        )

    def relative_uom(
        self,
        name: str,
        relative_to: int | None = None,
        relative_factor: float = 1.0,
        xml_id: str = "",
    ) -> int:
        """An Odoo 19 unit: `relative_factor` of `relative_to` (a root when None)."""
        unit = self.create(
            "uom.uom",
            name=name,
            display_name=name,
            relative_uom_id=relative_to or False,
            relative_factor=relative_factor,
            active=True,
        )
        if xml_id:
            self.xml_ids.append(
                {"module": "uom", "name": xml_id, "model": "uom.uom", "res_id": unit}
            )
        return unit

    def tax(
        self,
        amount: float,
        *,
        company: int,
        price_include: bool = False,
        amount_type: str = "percent",
        use: str = "sale",
    ) -> int:
        return self.create(
            "account.tax",
            name=f"{amount} %",
            display_name=f"{amount} %",
            amount=amount,
            amount_type=amount_type,
            price_include=price_include,
            type_tax_use=use,
            company_id=company,
            active=True,
        )

    def template(
        self,
        name: str,
        *,
        list_price: float,
        category: int,
        uom: int,
        company: int | bool = False,
        taxes: Iterable[int] = (),
        sale_ok: bool = True,
        weight: float = 0.0,
    ) -> int:
        return self.create(
            "product.template",
            name=name,
            list_price=list_price,
            categ_id=category,
            uom_id=uom,
            company_id=company,
            taxes_id=list(taxes),
            sale_ok=sale_ok,
            weight=weight,
            active=True,
        )

    def variant(
        self,
        template: int,
        barcode: str,
        *,
        price_extra: float = 0.0,
        standard_price: float = 0.0,
        suffix: str = "",
    ) -> int:
        name = self.tables["product.template"][template]["name"]
        return self.create(
            "product.product",
            product_tmpl_id=template,
            barcode=barcode,
            display_name=f"{name} ({suffix})" if suffix else name,
            price_extra=price_extra,
            standard_price=standard_price,
            active=True,
        )

    def pricelist(
        self, name: str, *, company: int | bool = False, currency: int = 1, active: bool = True
    ) -> int:
        return self.create(
            "product.pricelist",
            name=name,
            display_name=name,
            company_id=company,
            currency_id=currency,
            active=active,
        )

    def item(self, pricelist: int, **values: Any) -> int:
        defaults = {
            "applied_on": "3_global",
            "compute_price": "fixed",
            "base": "list_price",
            "base_pricelist_id": False,
            "product_id": False,
            "product_tmpl_id": False,
            "categ_id": False,
            "min_quantity": 0.0,
            "date_start": False,
            "date_end": False,
            "fixed_price": 0.0,
            "percent_price": 0.0,
            "price_discount": 0.0,
            "price_markup": 0.0,
            "price_surcharge": 0.0,
            "price_round": 0.0,
            "price_min_margin": 0.0,
            "price_max_margin": 0.0,
            "company_id": False,
        }
        return self.create(
            "product.pricelist.item", **{**defaults, **values}, pricelist_id=pricelist
        )

    def location(
        self, name: str, *, company: int, parent: int | None = None, usage: str = "internal"
    ) -> int:
        return self.create(
            "stock.location",
            name=name,
            display_name=name,
            location_id=parent or False,
            usage=usage,
            company_id=company,
            active=True,
        )

    def warehouse(self, name: str, *, company: int) -> tuple[int, int]:
        """A warehouse with its view location and its stock location; returns (id, stock)."""
        view = self.location(name, company=company, usage="view")
        stock = self.location(f"{name}/Stock", company=company, parent=view)
        warehouse = self.create(
            "stock.warehouse",
            name=name,
            display_name=name,
            view_location_id=view,
            lot_stock_id=stock,
            company_id=company,
            active=True,
        )
        return warehouse, stock

    def move(
        self, product: int, quantity: float, *, to: int | None = None, source: int | None = None
    ) -> None:
        """A done stock move: `quantity` leaves `source` and/or arrives at `to`."""
        with self._lock:
            for location, delta in ((source, -quantity), (to, quantity)):
                if location is not None:
                    self._change_quant(product, location, delta)
            where = to or source
            company = self.tables["stock.location"][where]["company_id"]
            self.create(
                "stock.move",
                product_id=product,
                location_id=source or False,
                location_dest_id=to or False,
                product_uom_qty=quantity,
                state="done",
                company_id=company,
            )

    def _change_quant(self, product: int, location: int, delta: float) -> None:
        quants = self.tables.setdefault("stock.quant", {})
        found = next(
            (
                q
                for q in quants.values()
                if q["product_id"] == product and q["location_id"] == location
            ),
            None,
        )
        if found is None:
            company = self.tables["stock.location"][location]["company_id"]
            self.create(
                "stock.quant",
                product_id=product,
                location_id=location,
                quantity=delta,
                company_id=company,
            )
            return
        found["quantity"] += delta
        found["write_date"] = odoo_now()
        if abs(found["quantity"]) < 1e-9:
            del quants[found["id"]]  # Odoo unlinks zero quants

    def fail(
        self, status: int, name: str, message: str, *, model: str = "", times: int = 1
    ) -> None:
        self.faults.extend(Fault(status, name, message, model) for _ in range(times))

    def stall(self, seconds: float, *, model: str = "", times: int = 1) -> None:
        self.stalls.extend((model, seconds) for _ in range(times))

    def calls_to(self, model: str, method: str = "search_read") -> list[dict]:
        return [body for m, meth, body in self.calls if m == model and meth == method]

    # --- the API ----------------------------------------------------------------------------

    def handle(self, model: str, method: str, body: dict, headers: dict) -> Any:
        key = headers.get("authorization", "")
        if key.split(" ", 1)[-1] != self.api_key or not key.lower().startswith("bearer "):
            raise OdooError(401, "odoo.exceptions.AccessDenied", "Access Denied")
        if headers.get("x-odoo-database", self.database) != self.database:
            raise OdooError(404, "werkzeug.exceptions.NotFound", "database not found")
        with self._lock:
            self.calls.append((model, method, body))
            stall = next((st for st in self.stalls if st[0] in ("", model)), None)
            if stall is not None:
                self.stalls.remove(stall)
        if stall is not None:
            time.sleep(stall[1])  # a busy Odoo worker: the client times out and asks again
        with self._lock:
            for fault in self.faults:
                if not fault.model or fault.model == model:
                    self.faults.remove(fault)
                    raise OdooError(fault.status, fault.name, fault.message)
            if model in self.forbidden:
                raise OdooError(
                    403,
                    "odoo.exceptions.AccessError",
                    f"You are not allowed to access '{model}' records.",
                )
            if model == "uom.category" and self.version >= 19:
                raise OdooError(404, "werkzeug.exceptions.NotFound", f"unknown model {model!r}")
            if model not in self.tables and model not in MANY2ONE and model != "ir.model.data":
                raise OdooError(404, "werkzeug.exceptions.NotFound", f"unknown model {model!r}")
            context = body.get("context") or {}
            if method == "search_read":
                rows = self._search(model, body.get("domain") or [], context)
                rows = sorted(rows, key=lambda r: r["id"])
                offset, limit = int(body.get("offset") or 0), body.get("limit")
                rows = rows[offset : offset + limit if limit else None]
            elif method == "fields_get":
                return self._fields_get(model)
            elif method == "read":
                ids = body.get("ids") or []
                visible = {r["id"]: r for r in self._visible(model, context, active_test=False)}
                rows = [visible[i] for i in ids if i in visible]
            else:
                raise OdooError(404, "werkzeug.exceptions.NotFound", f"no method {method!r}")
            return [self._shape(model, row, body.get("fields"), context) for row in rows]

    def _companies(self, context: dict) -> list[int]:
        allowed = context.get("allowed_company_ids")
        if not allowed:
            return list(self.user_companies)
        refused = [c for c in allowed if c not in self.user_companies]
        if refused:
            raise OdooError(
                403,
                "odoo.exceptions.AccessError",
                f"Access to unauthorized or invalid companies {refused}",
            )
        return list(allowed)

    def _rows(self, model: str) -> list[dict]:
        if model == "ir.model.data":
            return [{"id": i + 1, **row} for i, row in enumerate(self.xml_ids)]
        if model == "product.product":
            return [self._variant(row) for row in self.tables.get(model, {}).values()]
        if model == "product.pricelist.item":
            lists = self.tables.get("product.pricelist", {})
            return [
                {**row, "active": lists[row["pricelist_id"]]["active"]}
                for row in self.tables.get(model, {}).values()
            ]
        if model == "uom.uom" and self.version >= 19:
            return [self._relative_unit(row) for row in self.tables.get(model, {}).values()]
        return list(self.tables.get(model, {}).values())

    def _relative_unit(self, row: dict) -> dict:
        chain, current = [], row
        while current:
            chain.append(current)
            parent = current.get("relative_uom_id")
            current = self.tables["uom.uom"][parent] if parent else None
        factor = 1.0
        for unit in chain:
            factor *= unit["relative_factor"]
        path = "".join(f"{unit['id']}/" for unit in reversed(chain))
        return {**row, "factor": factor, "parent_path": path}

    def _fields_get(self, model: str) -> dict:
        names: set[str] = set(MANY2ONE.get(model, {}))
        for row in self._rows(model):
            names |= set(row)
        if model == "uom.uom":
            gone = {"category_id", "uom_type"} if self.version >= 19 else {"relative_uom_id"}
            names -= gone
        return {
            name: {"type": "many2one" if name in MANY2ONE.get(model, {}) else "char"}
            for name in sorted(names)
        }

    def _variant(self, row: dict) -> dict:
        template = self.tables["product.template"][row["product_tmpl_id"]]
        company = template["company_id"]
        currency = self.tables["res.company"][company]["currency_id"] if company else 1
        return {
            **{k: v for k, v in template.items() if k not in ("id", "write_date", "name")},
            **row,
            "active": row["active"] and template["active"],
            "lst_price": round(template["list_price"] + row["price_extra"], 6),
            "currency_id": currency,
            "write_date": max(row["write_date"], template["write_date"]),
        }

    def _visible(self, model: str, context: dict, *, active_test: bool | None = None) -> list[dict]:
        companies = self._companies(context)
        test = context.get("active_test", True) if active_test is None else active_test
        rows = []
        for row in self._rows(model):
            if "company_id" in row and row["company_id"] and row["company_id"] not in companies:
                continue
            if test and not row.get("active", True):
                continue
            rows.append(row)
        return rows

    def _search(self, model: str, domain: list, context: dict) -> list[dict]:
        rows = self._visible(model, context)
        return [row for row in rows if self._match(model, row, list(domain), context)]

    def _match(self, model: str, row: dict, domain: list, context: dict) -> bool:
        terms = [t for t in domain]
        result, rest = self._term(model, row, terms, context)
        while rest:  # implicit & between the remaining terms
            more, rest = self._term(model, row, rest, context)
            result = result and more
        return result

    def _term(self, model: str, row: dict, terms: list, context: dict) -> tuple[bool, list]:
        head, rest = terms[0], terms[1:]
        if head in ("|", "&"):
            left, rest = self._term(model, row, rest, context)
            right, rest = self._term(model, row, rest, context)
            return (left or right) if head == "|" else (left and right), rest
        if head == "!":
            inner, rest = self._term(model, row, rest, context)
            return not inner, rest
        name, op, value = head
        if name == "qty_available":
            raise OdooError(
                422, "odoo.exceptions.UserError", "qty_available is not searchable here"
            )
        actual = row.get(name, False)
        return _compare(self, model, name, actual, op, value), rest

    def children(self, model: str, ids: Iterable[int]) -> set[int]:
        parent_field = HIERARCHIES[model]
        found = set(ids)
        changed = True
        while changed:
            changed = False
            for row in self.tables.get(model, {}).values():
                if row["id"] not in found and row.get(parent_field) in found:
                    found.add(row["id"])
                    changed = True
        return found

    def _shape(self, model: str, row: dict, fields: list[str] | None, context: dict) -> dict:
        names = fields or [k for k in row if not k.startswith("_")]
        shaped = {"id": row["id"]}
        for name in names:
            if name == "qty_available" and model == "product.product":
                shaped[name] = self._qty_available(row["id"], context)
            elif name == "parent_path" and model == "product.category":
                shaped[name] = self._parent_path(row["id"])
            elif name in MANY2ONE.get(model, {}):
                target = self.tables.get(MANY2ONE[model][name], {}).get(row.get(name) or 0)
                shaped[name] = [target["id"], target.get("display_name", "")] if target else False
            elif name in row:
                shaped[name] = row[name]
            else:
                raise OdooError(
                    500, "builtins.ValueError", f"Invalid field {name!r} on model {model!r}"
                )
        return shaped

    def _parent_path(self, category: int) -> str:
        path = []
        current: int | bool = category
        while current:
            path.append(current)
            current = self.tables["product.category"][current]["parent_id"]
        return "".join(f"{i}/" for i in reversed(path))

    def _qty_available(self, product: int, context: dict) -> float:
        if context.get("location"):
            roots = [context["location"]]
        elif context.get("warehouse_id"):
            roots = [self.tables["stock.warehouse"][context["warehouse_id"]]["view_location_id"]]
        else:
            companies = self._companies(context)
            roots = [
                w["view_location_id"]
                for w in self.tables.get("stock.warehouse", {}).values()
                if w["company_id"] in companies
            ]
        locations = self.children("stock.location", roots)
        internal = {i for i in locations if self.tables["stock.location"][i]["usage"] == "internal"}
        return float(
            sum(
                q["quantity"]
                for q in self.tables.get("stock.quant", {}).values()
                if q["product_id"] == product and q["location_id"] in internal
            )
        )


def _compare(odoo: OdooStandIn, model: str, name: str, actual: Any, op: str, value: Any) -> bool:
    if op == "child_of":
        target = MANY2ONE.get(model, {}).get(name, model)
        roots = value if isinstance(value, list) else [value]
        return actual in odoo.children(target, roots)
    if op == "=":
        return actual == value or (value is False and actual in (None, False, ""))
    if op == "!=":
        return not _compare(odoo, model, name, actual, "=", value)
    if op == "in":
        if isinstance(actual, list):
            return any(a in value for a in actual)
        return actual in value or (False in value and actual in (None, False))
    if op == "not in":
        return not _compare(odoo, model, name, actual, "in", value)
    if actual in (None, False):
        return False
    if op == ">":
        return actual > value
    if op == ">=":
        return actual >= value
    if op == "<":
        return actual < value
    if op == "<=":
        return actual <= value
    raise OdooError(422, "builtins.ValueError", f"Invalid domain operator {op!r}")


class _Handler(BaseHTTPRequestHandler):
    odoo: OdooStandIn

    def log_message(self, *_args: object) -> None:  # quiet: tests read `calls`
        pass

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        try:
            if len(parts) != 4 or parts[:2] != ["json", "2"]:
                raise OdooError(404, "werkzeug.exceptions.NotFound", "not found")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                raise OdooError(400, "werkzeug.exceptions.BadRequest", "body is not JSON") from None
            headers = {k.lower(): v for k, v in self.headers.items()}
            result = self.odoo.handle(parts[2], parts[3], body, headers)
            self._send(200, result)
        except Exception as exc:  # what Odoo does with any exception: a 500 naming it
            if not isinstance(exc, OdooError):
                exc = OdooError(500, f"builtins.{type(exc).__name__}", str(exc))
            self._send(
                exc.status,
                {
                    "name": exc.name,
                    "message": exc.message,
                    "arguments": [exc.message],
                    "context": {},
                    "debug": "",
                },
            )

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # The client may have given up waiting (a timeout test): nothing left to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
