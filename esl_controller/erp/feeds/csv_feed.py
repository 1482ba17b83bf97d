"""A CSV price file from a local path or an http(s) URL, for ERPs that export files.

Always a full snapshot (a file has no "changed since"); paged by row offset so a sync commits
and resumes page by page like any other feed. Promotions come from a sibling `promotions.csv`
next to the products file; when there is none, the promotions stream is one empty page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests

from esl_controller.erp.feeds.base import FeedError, FeedPage, check_stream
from esl_controller.erp.http import send

PRODUCT_COLUMNS = (
    "gtin", "name", "brand", "price", "currency", "net_quantity", "unit", "stock",
    "restock_date", "status",
)  # fmt: skip
REQUIRED_COLUMNS = {
    "products": ("gtin", "name", "price", "currency"),
    "promotions": ("id", "gtin", "price", "currency", "starts_at", "ends_at"),
}
PROMOTIONS_FILE = "promotions.csv"
ROW_KEY = "_row"  # the record's line number in the file, for dead letters


class CsvFeed:
    name = "csv"
    supports_incremental = False

    def __init__(
        self, source: str, session: requests.Session | None = None, page_size: int = 500
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.source = source
        self.session = session or requests.Session()
        self.page_size = page_size

    def pages(
        self,
        stream: str,
        *,
        since: datetime | None = None,  # ignored: a file is always the whole catalogue
        cursor: str | None = None,
        etag: str | None = None,
    ) -> Iterator[FeedPage]:
        location = self._location(check_stream(stream))
        text = self._read(location, required=stream == "products")
        rows = parse_rows(text, stream, location) if text is not None else []
        offset = _offset(cursor)
        while True:
            end = offset + self.page_size
            next_cursor = str(end) if end < len(rows) else None
            page_cursor = None if offset == 0 else str(offset)
            yield FeedPage(stream, rows[offset:end], page_cursor, next_cursor)
            if next_cursor is None:
                return
            offset = end

    def _location(self, stream: str) -> str:
        if stream == "products":
            return self.source
        if _is_url(self.source):
            return urljoin(self.source, PROMOTIONS_FILE)
        return str(Path(self.source).with_name(PROMOTIONS_FILE))

    def _read(self, location: str, *, required: bool) -> str | None:
        """The file's text; None for an optional file that does not exist."""
        if _is_url(location):
            optional = () if required else (404,)
            response = send(self.session, "GET", location, what="CSV file", accept=optional)
            if response.status_code == 404:
                return None
            data = response.content
        else:
            path = Path(location)
            if not path.exists() and not required:
                return None
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise FeedError(f"cannot read the CSV file {location}: {exc}") from None
        try:
            return data.decode("utf-8-sig")  # -sig: Excel writes a BOM, others do not
        except UnicodeDecodeError as exc:
            raise FeedError(
                f"{location} is not UTF-8 (byte {exc.start}); export it as UTF-8"
            ) from None


def parse_rows(text: str, stream: str, location: str) -> list[dict]:
    """Raw records keyed by the header's column names, blank cells left out, each with its
    line number under `_row`."""
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in REQUIRED_COLUMNS[stream] if column not in header]
    if missing:
        raise FeedError(
            f"{location}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (header: {delimiter.join(header) or 'empty'})"
        )
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        record: dict = {
            column: cell.strip()
            for column, cell in zip(header, cells, strict=False)
            if column and cell.strip()
        }
        record[ROW_KEY] = reader.line_num
        rows.append(record)
    return rows


def sniff_delimiter(text: str) -> str:
    """`;` or `,`, whichever the header line uses more (European Excel writes `;`)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ValueError(f"a CSV cursor is a row offset, got {cursor!r}")
    return int(cursor)


def _is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")
