"""A CSV price file from a local path or an http(s) URL, for ERPs that export files.

Always a full snapshot (a file has no "changed since"); paged by row offset so a sync commits
and resumes page by page like any other feed. Promotions come from a sibling `promotions.csv`
next to the products file; when there is none, the feed serves no promotions stream at all
(so the sync ends none of the promotions it knows).

The encoding is a setting (`ESL_ERP_CSV_ENCODING`, default UTF-8) because Central European
ERPs export Windows-1250 or ISO-8859-2; a byte-order mark overrides it (a UTF-8 BOM means
UTF-8, a UTF-16 BOM UTF-16). The decimal separator is a setting too (`ESL_ERP_CSV_DECIMAL`):
with `,`, a price or quantity cell "12,99" reads as 12.99; a cell with both separators
("1.299,00") is left as it is, to be refused with its reason rather than guessed at.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests

from esl_controller.erp.feeds.base import FeedError, FeedPage, check_stream
from esl_controller.erp.feeds.http import send

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
DECIMAL_COLUMNS = ("price", "net_quantity")
DECIMAL_SEPARATORS = (".", ",")
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class CsvFeed:
    name = "csv"
    supports_incremental = False

    def __init__(
        self,
        source: str,
        session: requests.Session | None = None,
        page_size: int = 500,
        *,
        encoding: str = "utf-8",
        decimal: str = ".",
        store_filter: str | None = None,
    ) -> None:
        """`store_filter`: a chain file served over HTTP is asked for this store's rows only
        (`store=`); a local file is read whole. The sync checks every row's store either way."""
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(
                f"ESL_ERP_CSV_ENCODING={encoding!r} is not an encoding Python knows; "
                "try utf-8, windows-1250 or iso-8859-2"
            ) from None
        if decimal not in DECIMAL_SEPARATORS:
            raise ValueError(f'ESL_ERP_CSV_DECIMAL must be "." or ",", got {decimal!r}')
        self.source = source
        self.session = session or requests.Session()
        self.page_size = page_size
        self.encoding = encoding
        self.decimal = decimal
        self.store_filter = store_filter

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
        if text is None:
            return  # no promotions file: this feed has no promotions stream
        rows = parse_rows(text, stream, location, decimal=self.decimal)
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
            # requests keeps the URL's own query parameters and appends this one.
            params = {"store": self.store_filter} if self.store_filter is not None else None
            response = send(
                self.session, "GET", location, what="CSV file", accept=optional, params=params
            )
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
        return decode_csv(data, self.encoding, location)


def decode_csv(data: bytes, encoding: str, location: str) -> str:
    """The file's text in `encoding`, unless a byte-order mark says otherwise."""
    chosen = next((name for bom, name in BOMS if data.startswith(bom)), encoding)
    if codecs.lookup(chosen).name == "utf-8":
        chosen = "utf-8-sig"  # Excel's "CSV UTF-8" starts with a BOM, others do not
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        name = chosen.removesuffix("-sig").upper()
        raise FeedError(
            f"{location} is not {name} (byte {exc.start}, line {line}); "
            "export it in that encoding or set ESL_ERP_CSV_ENCODING to the one it uses"
        ) from None


def parse_rows(text: str, stream: str, location: str, *, decimal: str = ".") -> list[dict]:
    """Raw records keyed by the header's column names, blank cells left out, each with its
    line number under `_row`; decimal-comma cells rewritten with a dot when `decimal` is ","."""
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
        if decimal == ",":
            for column in DECIMAL_COLUMNS:
                if column in record:
                    record[column] = comma_decimal(record[column])
        record[ROW_KEY] = reader.line_num
        rows.append(record)
    return rows


def comma_decimal(cell: str) -> str:
    """ "12,99" -> "12.99"; anything else (no comma, several, or a dot as well) unchanged."""
    if cell.count(",") == 1 and "." not in cell:
        return cell.replace(",", ".")
    return cell


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
