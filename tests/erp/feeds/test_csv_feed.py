from __future__ import annotations

from pathlib import Path

import pytest

from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.csv_feed import CsvFeed
from esl_controller.erp.records import parse_product

from .conftest import ERP_URL

HEADER = "gtin,name,brand,price,currency,net_quantity,unit,stock,restock_date,status"
ROWS = [
    "5940000000011,Brânză telemea,Hochland,12.99,RON,400,g,12,,active",
    "5940000000028,Lapte,Napolact,7.49,RON,1,l,,2026-12-01,active",
    "5940000000035,Pâine,,4.20,RON,,,3,,active",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def all_records(feed: CsvFeed, stream: str = "products") -> list[dict]:
    return [record for page in feed.pages(stream) for record in page.records]


def test_a_local_file_pages_by_row_offset(tmp_path: Path) -> None:
    source = write(tmp_path / "prices.csv", "\n".join([HEADER, *ROWS]) + "\n")
    pages = list(CsvFeed(str(source), page_size=2).pages("products"))
    assert [(page.cursor, page.next_cursor) for page in pages] == [(None, "2"), ("2", None)]
    records = [record for page in pages for record in page.records]
    assert [record["_row"] for record in records] == [2, 3, 4]
    assert records[0]["name"] == "Brânză telemea"
    assert "brand" not in records[2]  # blank cells are left out so defaults apply
    assert parse_product(records[1]).restock_date.isoformat() == "2026-12-01"


def test_resume_from_a_cursor(tmp_path: Path) -> None:
    source = write(tmp_path / "prices.csv", "\n".join([HEADER, *ROWS]))
    pages = list(CsvFeed(str(source), page_size=2).pages("products", cursor="2"))
    assert [record["_row"] for page in pages for record in page.records] == [4]


def test_a_bom_and_semicolons_are_understood(tmp_path: Path) -> None:
    text = "\n".join([HEADER, *ROWS]).replace(",", ";")
    source = write(tmp_path / "prices.csv", text, encoding="utf-8-sig")
    assert source.read_bytes().startswith(b"\xef\xbb\xbf")
    records = all_records(CsvFeed(str(source)))
    assert records[0]["gtin"] == "5940000000011"  # not "\ufeffgtin"
    assert records[0]["price"] == "12.99"
    assert parse_product(records[0]).price_minor == 1299


def test_a_quoted_name_with_the_delimiter_stays_whole(tmp_path: Path) -> None:
    text = f'{HEADER}\n5940000000011,"Brânză, telemea",Hochland,12.99,RON,400,g,12,,active\n'
    source = write(tmp_path / "prices.csv", text)
    assert all_records(CsvFeed(str(source)))[0]["name"] == "Brânză, telemea"


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    source = write(tmp_path / "prices.csv", "gtin,name,currency\n5940000000011,Lapte,RON\n")
    with pytest.raises(FeedError, match=r"prices.csv: missing required column price"):
        all_records(CsvFeed(str(source)))


def test_a_missing_file_is_a_feed_error(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="cannot read the CSV file"):
        all_records(CsvFeed(str(tmp_path / "absent.csv")))


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    text = f"{HEADER}\n5940000000011,Käse,,12.99,EUR,,,,,active\n"
    source = write(tmp_path / "prices.csv", text, encoding="latin-1")
    with pytest.raises(FeedError, match="is not UTF-8"):
        all_records(CsvFeed(str(source)))


def test_promotions_come_from_a_sibling_file(tmp_path: Path) -> None:
    source = write(tmp_path / "prices.csv", "\n".join([HEADER, *ROWS]))
    write(
        tmp_path / "promotions.csv",
        "id;gtin;price;currency;starts_at;ends_at\n"
        "PR-1;5940000000011;9.99;RON;2026-11-24T00:00:00Z;2026-11-30T22:00:00Z\n",
    )
    records = all_records(CsvFeed(str(source)), "promotions")
    assert records == [
        {"id": "PR-1", "gtin": "5940000000011", "price": "9.99", "currency": "RON",
         "starts_at": "2026-11-24T00:00:00Z", "ends_at": "2026-11-30T22:00:00Z", "_row": 2}
    ]  # fmt: skip


def test_no_promotions_file_gives_no_promotions_stream(tmp_path: Path) -> None:
    # No page at all, so a full sync cannot read "no promotions" as "end them all".
    source = write(tmp_path / "prices.csv", "\n".join([HEADER, *ROWS]))
    assert list(CsvFeed(str(source)).pages("promotions")) == []


def test_csv_is_always_a_full_snapshot(tmp_path: Path) -> None:
    assert CsvFeed(str(tmp_path / "x.csv")).supports_incremental is False


def test_a_file_from_a_url(erp, erp_session) -> None:
    url = f"{ERP_URL}/export/prices.csv"
    erp.get(url, body=("\ufeff" + "\n".join([HEADER, *ROWS])).encode())
    erp.get(f"{ERP_URL}/export/promotions.csv", status=404)
    feed = CsvFeed(url, erp_session, page_size=500)
    assert [record["gtin"] for record in all_records(feed)] == [row[:13] for row in ROWS]
    assert all_records(feed, "promotions") == []


def test_a_url_that_fails_is_a_feed_error(erp, erp_session) -> None:
    url = f"{ERP_URL}/export/prices.csv"
    erp.get(url, status=404)
    with pytest.raises(FeedError, match="CSV file: the ERP answered 404"):
        all_records(CsvFeed(url, erp_session))
