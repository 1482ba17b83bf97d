"""CSV exports as Central European ERPs write them: Windows-1250 or ISO-8859-2, decimal
commas, BOMs; and a file whose every row is refused raises an alert instead of a success."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.erp.feeds import feed_from_settings
from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.csv_feed import CsvFeed, comma_decimal
from esl_controller.erp.records import parse_product
from esl_controller.erp.sync import run_sync
from esl_controller.models import Incident, Product, SyncRun

HEADER = "gtin;name;brand;price;currency;net_quantity;unit;stock;restock_date;status"
NAMES = ["Ser żółty łagodny", "Brânză de burduf", "Tvarůžky Olomoucké", "Túró Rudi"]
ROWS = [
    f"5940000000011;{NAMES[0]};Mlekovita;12,99;PLN;0,4;kg;-3;;active",
    f"5940000000028;{NAMES[1]};;24,50;RON;500;g;7;;active",
    f"5940000000035;{NAMES[2]};;89,90;CZK;125;g;;;active",
    f"5940000000042;{NAMES[3]};Pöttyös;329,00;HUF;30;g;12;;active",
]


def export(path: Path, encoding: str, rows: list[str] = ROWS, bom: bytes = b"") -> Path:
    path.write_bytes(bom + "\r\n".join([HEADER, *rows]).encode(encoding))
    return path


def products(feed: CsvFeed) -> list:
    return [parse_product(raw) for page in feed.pages("products") for raw in page.records]


@pytest.mark.parametrize("encoding", ["windows-1250", "iso-8859-2", "utf-8"])
def test_a_central_european_export_reads_with_its_encoding_and_decimal_comma(
    tmp_path: Path, encoding: str
) -> None:
    # Ț/ț and ș are not in either 8-bit code page, so the Romanian name keeps to â.
    source = export(tmp_path / "prices.csv", encoding)
    records = products(CsvFeed(str(source), encoding=encoding, decimal=","))
    assert [r.name for r in records] == NAMES
    assert [r.price_minor for r in records] == [1299, 2450, 8990, 32900]
    assert records[0].net_quantity == 0.4
    assert (records[0].stock, records[0].oversold) == (0, True)


def test_a_bom_overrides_the_encoding_setting(tmp_path: Path) -> None:
    utf8 = export(tmp_path / "a.csv", "utf-8", bom=codecs.BOM_UTF8)
    utf16 = export(tmp_path / "b.csv", "utf-16-le", bom=codecs.BOM_UTF16_LE)
    for source in (utf8, utf16):
        records = products(CsvFeed(str(source), encoding="windows-1250", decimal=","))
        assert [r.name for r in records] == NAMES


def test_the_wrong_encoding_names_the_line_and_the_setting(tmp_path: Path) -> None:
    source = export(tmp_path / "prices.csv", "windows-1250")
    with pytest.raises(FeedError, match=r"is not UTF-8 \(byte \d+, line 2\).*ESL_ERP_CSV_ENCODING"):
        list(CsvFeed(str(source)).pages("products"))


def test_a_decimal_comma_without_the_setting_is_refused_per_row(tmp_path: Path) -> None:
    source = export(tmp_path / "prices.csv", "utf-8")
    raws = [raw for page in CsvFeed(str(source)).pages("products") for raw in page.records]
    reasons = []
    for raw in raws:
        try:
            parse_product(raw)
        except ValueError as error:
            reasons.append(str(error))
    assert reasons[0] == "price: '12,99' is not a decimal number (use a dot: \"12.99\")"


@pytest.mark.parametrize(
    ("cell", "read"),
    [("12,99", "12.99"), ("12", "12"), ("1.299,00", "1.299,00"), ("1,2,3", "1,2,3")],
)
def test_comma_decimals_are_rewritten_only_when_unambiguous(cell: str, read: str) -> None:
    assert comma_decimal(cell) == read


def test_the_settings_reach_the_feed(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ESL_ERP_FEED", "csv")
    monkeypatch.setenv("ESL_ERP_URL", str(tmp_path / "prices.csv"))
    monkeypatch.setenv("ESL_ERP_CSV_ENCODING", "windows-1250")
    monkeypatch.setenv("ESL_ERP_CSV_DECIMAL", ",")
    feed = feed_from_settings(Settings.from_env())
    assert (feed.encoding, feed.decimal) == ("windows-1250", ",")
    with pytest.raises(ValueError, match="ESL_ERP_CSV_DECIMAL"):
        CsvFeed("x.csv", decimal=" ")
    with pytest.raises(ValueError, match="ESL_ERP_CSV_ENCODING"):
        CsvFeed("x.csv", encoding="klingon")


def test_a_run_that_rejects_every_row_fails_with_an_incident(engine, settings, store, tmp_path):
    source = export(tmp_path / "prices.csv", "windows-1250")
    feed = CsvFeed(str(source), encoding="windows-1250")  # decimal "." but the file uses ","

    outcome = run_sync(engine, feed, settings)

    assert outcome.status == "failed" and outcome.rejected == 4
    assert "every one of the 4 records read was rejected" in outcome.error
    with Session(engine) as s:
        run = s.get(SyncRun, outcome.run_id)
        incidents = list(s.execute(select(Incident)).scalars())
    assert run.alert == outcome.error
    assert [i.kind for i in incidents] == ["sync_all_rejected"]

    fixed = CsvFeed(str(source), encoding="windows-1250", decimal=",")
    assert run_sync(engine, fixed, settings).status == "succeeded"
    with Session(engine) as s:
        stored = {p.gtin: p for p in s.execute(select(Product)).scalars()}
    assert stored["5940000000011"].name == NAMES[0]
    assert (stored["5940000000011"].stock, stored["5940000000011"].price_minor) == (0, 1299)
