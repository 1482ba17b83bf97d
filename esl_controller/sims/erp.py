"""A simulated ERP: a real HTTP server speaking the generic JSON feed of docs/erp.md.

`esl-controller sim erp` (and the demo) runs it; tests start one per test on a free port.
Its catalogue is the demo store's (`demo_data.demo_catalogue`), so GTINs, names and prices
match what the demo seeded. Prices drift on demand (`change_prices`) or on a timer
(`drift_every`), and faults are injected by method: failing statuses, a body that is not
JSON, invalid rows, a duplicate GTIN, an empty catalogue, delisted products. Promotions can
be cancelled (`cancel_promotion`): full reads stop listing them, incremental reads say
`"status": "cancelled"`.

Paging is keyset paging: the opaque cursor names the last record served, so a catalogue that
changes between two pages never skips or repeats a record. Every page carries its own ETag
(a digest of what it holds), and a matching If-None-Match on any page answers 304.

A chain's head office feed (`chain_stores=("north", "south")`): every store gets the
catalogue, each record with a `store` field naming its store (a promotion has one id in
every store, `PR-1001`, as head office's would), and `?store=north` serves north's records
only, plus any injected record naming no store (a real export's mistake, which the
controller must refuse). `ignore_store_filter()` makes it serve every store's records
whatever `store=` says, the way a feed that does not know the parameter would, so a test
can show that the controller's own check holds. Methods taking a `store` act on that
store's records; without one, on every store's (a head-office price change).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import random
import threading
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from operator import itemgetter
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.clock import utcnow
from esl_controller.demo_data import demo_catalogue

log = logging.getLogger(__name__)

STREAMS = ("products", "promotions")
DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000
PROMOTION_ID_BASE = 1000  # the demo's promotions become PR-1001, PR-1002, ...
BAD_ROW_KINDS = ("check_digit", "decimals", "currency", "promo_dates")
REQUEST_LOG_SIZE = 10_000  # the newest requests, for tests; a long demo must not grow it
SHUTDOWN_POLL_S = 0.05  # how soon stop() returns; the default half second adds up in tests
MALFORMED_BODY = b'{"items": [{"gtin": "59400'  # a connection cut mid-body

Key = tuple[str, int]  # (gtin or promotion id, serial): serial > 0 only for injected rows
Row = tuple[Key, dict[str, Any]]


@dataclass(frozen=True)
class ServedRequest:
    """One request as the simulator saw it, for tests that count retries."""

    path: str
    query: dict[str, str]
    status: int
    authorized: bool
    if_none_match: str | None


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: int | None


class _QuietRequestHandler(WSGIRequestHandler):
    """Access lines at debug level: a test or the demo serves thousands of pages."""

    def log(self, level: str, message: str, *args: Any) -> None:
        log.debug("%s %s", level, message % args)


class FeedRequestError(ValueError):
    """A request the feed refuses with 400 (bad page_size, cursor or modified_since)."""


class ErpSimulator:
    """The demo store's ERP over HTTP. `start()` serves on `url`; `stop()` shuts it down."""

    def __init__(
        self,
        products: int = 300,
        seed: int = 7,
        token: str = "demo",
        store_id: str = "store-1",
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
        chain_stores: Sequence[str] = (),
    ) -> None:
        if not token:
            raise ValueError("the ERP simulator needs a non-empty bearer token")
        self.token = token
        self.store_id = store_id
        self.chain_stores = tuple(chain_stores)
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._extra_serial = 0
        if self.chain_stores:
            self._products, self._promotions = _chain_rows(self.chain_stores, products, seed, now)
        else:
            self._products, self._promotions = _catalogue_rows(store_id, products, seed, now)
        self._ignore_store_filter = False
        self._extras: dict[str, list[Row]] = {stream: [] for stream in STREAMS}
        self._failures: deque[_Failure] = deque()
        self._malformed = 0
        self._empty = False
        self.requests: deque[ServedRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self._server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> ErpSimulator:
        self._server = make_server(
            self._host,
            self._port,
            self._wsgi,
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="erp-sim",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)
        log.info("ERP simulator serving %d products on %s", len(self._products), self.url)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the ERP simulator is not started; call start() first")
        return f"http://{self._host}:{self._server.server_port}"

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._server = None

    def __enter__(self) -> ErpSimulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- the catalogue changing ------------------------------------------------------------

    def change_prices(self, count: int, rng: random.Random | None = None) -> list[str]:
        """Give `count` active products a new shelf price; returns their GTINs."""
        rng = rng or self._rng
        with self._lock:
            active = [record for _key, record in self._products if record["status"] == "active"]
            chosen = rng.sample(active, min(count, len(active)))
            moment = _whole_seconds(utcnow())
            for record in chosen:
                record["price"] = _decimal_price(_new_price(rng, _minor_units(record["price"])))
                record["modified_at"] = moment
        return [record["gtin"] for record in chosen]

    def set_price(self, gtin: str, price: str, store: str | None = None) -> None:
        """Give one product a new shelf price ("12.99"): in `store`, or in every store."""
        with self._lock:
            moment = _whole_seconds(utcnow())
            for record in self._product_records(gtin, store):
                record["price"] = price
                record["modified_at"] = moment

    def drift_every(self, seconds: float, count: int = 5) -> None:
        """Change `count` prices every `seconds` until `stop()`: the demo store keeps moving."""
        if seconds <= 0:
            raise ValueError(f"drift interval must be positive, got {seconds}")
        rng = random.Random(self._rng.random())

        def drift() -> None:
            while not self._stopping.wait(seconds):
                changed = self.change_prices(count, rng)
                log.info("ERP simulator changed the price of %s", ", ".join(changed))

        thread = threading.Thread(target=drift, name="erp-sim-drift", daemon=True)
        thread.start()
        self._threads.append(thread)

    def delist(self, gtins: Iterable[str], store: str | None = None) -> None:
        """Take products off sale (in `store`, or everywhere): full reads omit them,
        incremental reads say "delisted"."""
        with self._lock:
            records = [record for gtin in gtins for record in self._product_records(gtin, store)]
            moment = _whole_seconds(utcnow())
            for record in records:
                record["status"] = "delisted"
                record["modified_at"] = moment

    def cancel_promotion(self, promotion_id: str, store: str | None = None) -> None:
        """Withdraw a promotion (in `store`, or everywhere): full reads omit it, incremental
        reads say "cancelled"."""
        with self._lock:
            records = [
                rec
                for _key, rec in self._promotions
                if rec["id"] == promotion_id and store in (None, rec.get("store"))
            ]
            if not records:
                raise KeyError(f"the ERP has no promotion {promotion_id}")
            moment = _whole_seconds(utcnow())
            for record in records:
                record["status"] = "cancelled"
                record["modified_at"] = moment

    def promotion_ids(self, store: str | None = None) -> list[str]:
        with self._lock:
            found = [
                rec["id"]
                for _key, rec in self._promotions
                if rec.get("status") != "cancelled" and store in (None, rec.get("store"))
            ]
        return list(dict.fromkeys(found))  # a chain lists an id once per store

    def product(self, gtin: str, store: str | None = None) -> dict[str, Any]:
        """A product as the feed sends it (a copy), e.g. to compare with the database."""
        with self._lock:
            return _wire(self._product_records(gtin, store)[0])

    def gtins(self, status: str = "active", store: str | None = None) -> list[str]:
        with self._lock:
            found = [
                record["gtin"]
                for _key, record in self._products
                if record["status"] == status and store in (None, record.get("store"))
            ]
        return list(dict.fromkeys(found))  # a chain lists a GTIN once per store

    # --- fault injection -------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` feed requests answer `status` (with Retry-After when given)."""
        if not 400 <= status <= 599:
            raise ValueError(f"a failure needs an HTTP error status (400-599), got {status}")
        with self._lock:
            self._failures.extend(_Failure(status, retry_after) for _ in range(times))

    def malformed_next(self, times: int = 1) -> None:
        """The next `times` feed requests answer 200 with a body that is not JSON."""
        with self._lock:
            self._malformed += times

    def bad_rows(self, n: int) -> None:
        """The next read of each stream carries `n` invalid rows, kinds in turn: a wrong GTIN
        check digit, a price with 3 decimals, an unknown currency, a promotion ending before
        it starts. They are new records, so every valid record still arrives."""
        with self._lock:
            anchor = next(rec for _key, rec in self._products if rec["status"] == "active")
            for index in range(n):
                kind = BAD_ROW_KINDS[index % len(BAD_ROW_KINDS)]
                stream, row = _bad_row(kind, index, anchor)
                self._inject(stream, row)

    def duplicate_gtin(self) -> str:
        """The next products read carries a second, different record for an active GTIN."""
        with self._lock:
            original = next(rec for _key, rec in self._products if rec["status"] == "active")
            twin = dict(original)
            twin["price"] = _decimal_price(_minor_units(original["price"]) + 100)
            twin["name"] = f"{original['name']} (duplicate)"
            self._inject("products", twin)
            return original["gtin"]

    def ignore_store_filter(self, ignore: bool = True) -> None:
        """Serve every store's records whatever `store=` asks for, until reset."""
        with self._lock:
            self._ignore_store_filter = ignore

    def add_product(self, store: str | None) -> str:
        """The next products read carries a new product (a fresh in-store GTIN, otherwise
        an active product's values) naming `store`, or naming no store when None; returns
        its GTIN."""
        with self._lock:
            anchor = next(rec for _key, rec in self._products if rec["status"] == "active")
            body = f"29{self._extra_serial + 1:010d}"
            record = {**anchor, "gtin": body + str(gtin_check_digit(body))}
            record["name"] = f"{anchor['name']} ({store or 'no store'})"
            record.pop("store", None)
            if store is not None:
                record["store"] = store
            self._inject("products", record)
            return record["gtin"]

    def empty_catalogue(self, empty: bool = True) -> None:
        """The products stream answers zero products (a broken ERP export) until reset."""
        with self._lock:
            self._empty = empty

    def _inject(self, stream: str, record: dict[str, Any]) -> None:
        self._extra_serial += 1
        key_field = "gtin" if stream == "products" else "id"
        self._extras[stream].append(((_row_name(record, key_field), self._extra_serial), record))

    def _product_records(self, gtin: str, store: str | None) -> list[dict[str, Any]]:
        """The catalogue's records of `gtin` (in `store`, or in every store); KeyError when
        there is none."""
        found = [
            record
            for _key, record in self._products
            if record["gtin"] == gtin and store in (None, record.get("store"))
        ]
        if not found:
            where = f" in store {store}" if store is not None else ""
            raise KeyError(f"the ERP has no product with GTIN {gtin}{where}")
        return found

    # --- HTTP ------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        response = self._respond(request)
        self.requests.append(
            ServedRequest(
                path=request.path,
                query=request.args.to_dict(),
                status=response.status_code,
                authorized=self._authorized(request),
                if_none_match=request.headers.get("If-None-Match"),
            )
        )
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        stream = request.path.strip("/")
        if stream not in STREAMS:
            return _error(404, f"no such feed {request.path!r}; try /products or /promotions")
        if request.method != "GET":
            return _error(405, f"{request.method} is not allowed; the feed is read-only")
        injected = self._take_injected_fault()
        if injected is not None:
            return injected
        if not self._authorized(request):
            response = _error(401, "missing or wrong bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="erp"'
            return response
        try:
            return self._page(stream, request)
        except FeedRequestError as exc:
            return _error(400, str(exc))

    def _take_injected_fault(self) -> Response | None:
        with self._lock:
            if self._failures:
                failure = self._failures.popleft()
                response = _error(failure.status, f"simulated failure {failure.status}")
                if failure.retry_after is not None:
                    response.headers["Retry-After"] = str(failure.retry_after)
                return response
            if self._malformed:
                self._malformed -= 1
                return Response(MALFORMED_BODY, status=200, content_type="application/json")
        return None

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.token.encode()
        )

    def _page(self, stream: str, request: Request) -> Response:
        page_size = _page_size(request.args.get("page_size"))
        after = _decode_cursor(request.args.get("cursor"))
        since = _parse_since(request.args.get("modified_since"))
        store = None if self._ignore_store_filter else request.args.get("store") or None
        with self._lock:
            rows = self._rows(stream)
            include = _filter(
                stream, since, self._active_gtins() if stream == "promotions" else None, store
            )
            records, last_key = _select_page(rows, after, page_size, include)
            items = [_wire(record) for record in records]
            next_cursor = _encode_cursor(last_key) if last_key else None
            etag = _page_etag(stream, items, next_cursor)
            if _etag_matches(request.headers.get("If-None-Match"), etag):
                return Response(status=304, headers={"ETag": etag})
            if last_key is None:
                self._extras[stream].clear()  # the read is complete: injected rows are used up
        body = {"items": items, "next_cursor": next_cursor, "server_time": _iso(utcnow())}
        response = Response(
            json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8"
        )
        response.headers["ETag"] = etag
        return response

    def _rows(self, stream: str) -> Sequence[Row]:
        if stream == "products" and self._empty:
            return []
        base = self._products if stream == "products" else self._promotions
        extras = self._extras[stream]
        return sorted([*base, *extras], key=itemgetter(0)) if extras else base

    def _active_gtins(self) -> set[tuple[str | None, str]]:
        """(store, GTIN) of the active products: a promotion is served while its store's
        product is (no store: a single store's catalogue)."""
        if self._empty:
            return set()
        return {
            (record.get("store"), record["gtin"])
            for _key, record in self._products
            if record["status"] == "active"
        }


# --- building the catalogue --------------------------------------------------------------


def _catalogue_rows(
    store_id: str, n_products: int, seed: int, now: datetime | None
) -> tuple[list[Row], list[Row]]:
    """The demo catalogue as feed records, sorted by key for keyset paging."""
    now = _whole_seconds(now or utcnow())
    catalogue = demo_catalogue(store_id, n_products=n_products, seed=seed, now=now)
    products: list[Row] = []
    for index, product in enumerate(catalogue.products):
        last_change = catalogue.history[index][-1].effective_at
        record = {
            "gtin": product.gtin,
            "name": product.name,
            "brand": product.brand,
            "price": _decimal_price(product.price_minor),
            "currency": product.currency,
            "net_quantity": _decimal_quantity(product.net_quantity),
            "unit": product.unit,
            "stock": product.stock,
            "restock_date": product.restock_date.isoformat() if product.restock_date else None,
            "status": "active",
            "modified_at": _whole_seconds(last_change),
        }
        products.append(((product.gtin, 0), record))
    promotions: list[Row] = []
    for number, (index, promotion) in enumerate(catalogue.promotions, start=1):
        promotion_id = f"PR-{PROMOTION_ID_BASE + number}"
        record = {
            "id": promotion_id,
            "gtin": catalogue.products[index].gtin,
            "price": _decimal_price(promotion.price_minor),
            "currency": catalogue.products[index].currency,
            "starts_at": promotion.starts_at,
            "ends_at": promotion.ends_at,
            "modified_at": _whole_seconds(min(promotion.starts_at, now)),
        }
        promotions.append(((promotion_id, 0), record))
    return sorted(products, key=itemgetter(0)), sorted(promotions, key=itemgetter(0))


def _chain_rows(
    stores: Sequence[str], n_products: int, seed: int, now: datetime | None
) -> tuple[list[Row], list[Row]]:
    """Every store's catalogue in one feed, each record naming its store, keyed
    "<store>/<gtin>" ("<store>/<promotion id>") so keyset paging sees each once. Head
    office's promotions keep one id in every store, as a chain's ERP sends them."""
    products: list[Row] = []
    promotions: list[Row] = []
    for store in stores:
        store_products, store_promotions = _catalogue_rows(store, n_products, seed, now)
        for _key, record in store_products:
            record["store"] = store
            products.append(((_row_name(record, "gtin"), 0), record))
        for _key, record in store_promotions:
            record["store"] = store
            promotions.append(((_row_name(record, "id"), 0), record))
    return sorted(products, key=itemgetter(0)), sorted(promotions, key=itemgetter(0))


def _row_name(record: dict[str, Any], key_field: str) -> str:
    store = record.get("store")
    return f"{store}/{record[key_field]}" if store is not None else record[key_field]


def _bad_row(kind: str, index: int, anchor: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An invalid record of `kind`; products get in-store GTINs (prefix 2xx) of their own."""
    moment = _whole_seconds(utcnow())
    body = f"2{BAD_ROW_KINDS.index(kind):02d}{index:09d}"
    gtin = body + str(gtin_check_digit(body))
    if kind == "promo_dates":
        starts = moment + timedelta(days=2)
        return "promotions", {
            "id": f"PR-BAD-{index + 1}",
            "gtin": anchor["gtin"],
            "price": "1.99",
            "currency": anchor["currency"],
            "starts_at": starts,
            "ends_at": starts - timedelta(days=1),
            "modified_at": moment,
        }
    record = {
        **anchor,
        "gtin": gtin,
        "name": f"Produs defect {index + 1} ({kind})",
        "modified_at": moment,
    }
    if kind == "check_digit":
        record["gtin"] = body + str((gtin_check_digit(body) + 1) % 10)
    elif kind == "decimals":
        record["price"] = "12.999"
    else:
        record["currency"] = "XYZ"
    return "products", record


# --- paging -------------------------------------------------------------------------------


def _select_page(
    rows: Sequence[Row], after: Key | None, size: int, include: Callable[[dict], bool]
) -> tuple[list[dict[str, Any]], Key | None]:
    """Up to `size` included records after key `after`, and the key to continue from
    (None when no included record follows)."""
    start = bisect_right(rows, after, key=itemgetter(0)) if after else 0
    chosen: list[Row] = []
    for row in islice(rows, start, None):
        if include(row[1]):
            if len(chosen) == size:
                return [record for _key, record in chosen], chosen[-1][0]
            chosen.append(row)
    return [record for _key, record in chosen], None


def _page_etag(stream: str, items: list[dict[str, Any]], next_cursor: str | None) -> str:
    """A validator of this page alone: it changes exactly when the page's content does."""
    content = json.dumps([stream, items, next_cursor], sort_keys=True, ensure_ascii=False)
    return f'"{hashlib.sha256(content.encode()).hexdigest()[:24]}"'


def _filter(
    stream: str,
    since: datetime | None,
    active_gtins: set[tuple[str | None, str]] | None,
    store: str | None = None,
) -> Callable[[dict], bool]:
    """A full read (no `since`) is the active snapshot; an incremental one is every change.
    With `store`, only that store's records and those naming no store."""

    def include(record: dict[str, Any]) -> bool:
        if store is not None and record.get("store") not in (None, store):
            return False
        if since is not None:
            return record["modified_at"] >= since
        if stream == "products":
            return record["status"] == "active"
        if record.get("status") == "cancelled":
            return False
        return active_gtins is None or (record.get("store"), record["gtin"]) in active_gtins

    return include


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise FeedRequestError(f"page_size must be a whole number, got {raw!r}") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise FeedRequestError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return size


def _encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(raw: str | None) -> Key | None:
    if not raw:
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        name, serial = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(name, str) or not isinstance(serial, int):
            raise TypeError
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise FeedRequestError(f"cursor {raw!r} is not one this feed issued") from None
    return name, serial


def _parse_since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise FeedRequestError(
            f"modified_since must be ISO 8601 UTC, e.g. 2026-11-23T10:00:00Z; got {raw!r}"
        ) from None
    if moment.tzinfo is None:
        raise FeedRequestError(f"modified_since needs a time zone (Z for UTC); got {raw!r}")
    return moment.astimezone(UTC)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    offered = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in offered or etag in offered


# --- wire format --------------------------------------------------------------------------


def _wire(record: dict[str, Any]) -> dict[str, Any]:
    if record.get("status") == "cancelled":  # a cancel names the promotion, nothing more
        cancel = {
            "id": record["id"],
            "status": "cancelled",
            "modified_at": _iso(record["modified_at"]),
        }
        if "store" in record:  # ... and in a chain feed, whose promotion it is
            cancel["store"] = record["store"]
        return cancel
    return {
        key: _iso(value) if isinstance(value, datetime) else value for key, value in record.items()
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _decimal_price(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _minor_units(price: str) -> int:
    whole, _, fraction = price.partition(".")
    return int(whole) * 100 + int(fraction.ljust(2, "0")[:2])


def _decimal_quantity(quantity: float | None) -> str | None:
    return None if quantity is None else f"{quantity:g}"


def _new_price(rng: random.Random, current: int) -> int:
    """A nearby shelf price ending in 9 that differs from `current`."""
    while True:
        candidate = max(9, round(current * rng.uniform(0.85, 1.15) / 10) * 10 - 1)
        if candidate != current:
            return candidate


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, content_type="application/json")


# --- command line -------------------------------------------------------------------------


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esl-controller sim erp",
        description="A simulated ERP serving the generic JSON feed (docs/erp.md) over HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", default=os.environ.get("ESL_STORE_ID", "store-1"))
    parser.add_argument(
        "--chain-stores",
        default="",
        help="comma-separated store ids: serve one chain feed for them all, filtered by ?store=",
    )
    parser.add_argument("--token", default=os.environ.get("ESL_ERP_TOKEN") or "demo")
    parser.add_argument(
        "--drift-seconds", type=float, default=60.0, help="change prices this often; 0: never"
    )
    parser.add_argument("--drift-count", type=int, default=5, help="prices changed per drift")
    return parser


def run_erp_sim(argv: list[str] | None = None) -> int:
    """Serve the simulated ERP until Ctrl-C; the exit code for the shell."""
    parser = _argument_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        sim = ErpSimulator(
            products=args.products,
            seed=args.seed,
            token=args.token,
            store_id=args.store,
            host=args.host,
            port=args.port,
            chain_stores=[name.strip() for name in args.chain_stores.split(",") if name.strip()],
        ).start()
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    if args.drift_seconds > 0:
        sim.drift_every(args.drift_seconds, args.drift_count)
    log.info("ESL_ERP_URL=%s (bearer token from --token / ESL_ERP_TOKEN); Ctrl-C stops", sim.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
