"""Price history from an ERP export: each row judged alone, known rows skipped, audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller import db
from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.cli import main
from esl_controller.config import Settings
from esl_controller.erp.history_import import (
    SOURCE,
    HistoryFileError,
    decode,
    import_history,
    parse_history,
)
from esl_controller.models import (
    AuditEntry,
    BaseStation,
    Label,
    PriceHistory,
    Product,
    Promotion,
    Store,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BUCHAREST = ZoneInfo("Europe/Bucharest")
STORE = "store-1"


def gtin(n: int) -> str:
    body = f"594{n:09d}"
    return body + str(gtin_check_digit(body))


def test_semicolon_decimal_comma_and_a_bom_are_read() -> None:
    text = decode(
        f"\ufeffgtin;price;effective_at\n{gtin(1)};12,99;2026-11-01T08:00:00+02:00\n".encode()
    )
    rows, refused = parse_history(text, BUCHAREST, NOW)
    assert refused == []
    (row,) = rows
    assert row.key == "0" + gtin(1)
    assert row.price == "12.99"
    assert row.effective_at == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert row.row == 2


def test_comma_separated_with_a_bare_date_is_store_local_midnight() -> None:
    text = f"GTIN,Price,Effective_At\n{gtin(1)},9.50,2026-07-15\n"
    (row,), _ = parse_history(text, BUCHAREST, NOW)
    assert row.effective_at == datetime(2026, 7, 14, 21, 0, tzinfo=UTC)  # UTC+3 in summer


def test_gtin_forms_share_one_key() -> None:
    code = gtin(1)
    text = f"gtin;price;effective_at\n{code};1.00;2026-11-01\n0{code};1.00;2026-11-02\n"
    rows, _ = parse_history(text, BUCHAREST, NOW)
    assert {row.key for row in rows} == {"0" + code}


def test_each_bad_row_is_refused_alone_with_its_row_number() -> None:
    secret = "Ion Popescu 0722123456"
    text = "\n".join(
        [
            "gtin;price;effective_at",
            f"{gtin(1)};1.00;2026-11-01",  # 2: fine
            "5941234567890;1.00;2026-11-01",  # 3: wrong check digit
            f"{gtin(1)};1.00;2026-11-01T10:00:00",  # 4: no offset
            f"{gtin(1)};1.00;2027-01-01",  # 5: future
            f"{gtin(1)};1.00;{secret}",  # 6: not a time
            f"{gtin(1)};;2026-11-01",  # 7: empty price
            f"{gtin(1)};1.00;2026-13-01",  # 8: no such date
            f"{gtin(2)};2.00;2026-11-02T10:00:00Z",  # 9: fine
        ]
    )
    rows, refused = parse_history(text, BUCHAREST, NOW)
    assert [row.row for row in rows] == [2, 9]
    assert [number for number, _ in refused] == [3, 4, 5, 6, 7, 8]
    reasons = dict(refused)
    assert reasons[3].startswith("gtin:")
    assert "time zone" in reasons[4]
    assert "future" in reasons[5]
    assert reasons[7] == "price: is empty"
    # a reason quotes at most its own field, never the rest of the row
    assert all(gtin(1) not in reason for reason in reasons.values())
    assert all("1.00" not in reason for reason in reasons.values())


def test_a_file_without_the_columns_is_refused_whole() -> None:
    with pytest.raises(HistoryFileError, match="effective_at"):
        parse_history("gtin;price\n5940000000011;1.00\n", BUCHAREST, NOW)


def test_a_file_that_is_not_utf8_is_refused_whole() -> None:
    with pytest.raises(HistoryFileError, match="UTF-8"):
        decode("gtin;price;effective_at\nbrânză".encode("windows-1250"))


def seed(engine: Engine, products: int = 2, labels: bool = False) -> list[int]:
    with db.session_scope(engine) as s:
        s.add(
            Store(
                id=STORE, name="Store", locale="ro_RO", currency="RON", timezone="Europe/Bucharest"
            )
        )
        s.flush()
        s.add(BaseStation(id="bs-01", store_id=STORE))
        s.flush()
        ids = []
        for n in range(1, products + 1):
            product = Product(
                store_id=STORE, gtin=gtin(n), name=f"Telemea {n}", price_minor=1000, currency="RON"
            )
            s.add(product)
            s.flush()
            ids.append(product.id)
            if labels:
                s.add(
                    Label(
                        id=f"L-{n}",
                        store_id=STORE,
                        model="2.9-bwr",
                        base_station_id="bs-01",
                        product_id=product.id,
                        template="price",
                    )
                )
        return ids


def history_of(engine: Engine, product_id: int) -> list[tuple[int, str]]:
    with Session(engine) as s:
        rows = s.scalars(
            select(PriceHistory)
            .where(PriceHistory.product_id == product_id)
            .order_by(PriceHistory.effective_at)
        ).all()
        return [(row.price_minor, row.source) for row in rows]


def run_import(engine: Engine, text: str):
    with db.session_scope(engine) as s:
        return import_history(s, STORE, text.encode(), NOW)


def check_import_writes_skips_and_audits(engine: Engine) -> None:
    first, second = seed(engine)
    text = "\n".join(
        [
            "gtin;price;effective_at",
            f"{gtin(1)};11,50;2026-09-01",
            f"{gtin(1)};10,00;2026-10-15T00:00:00+03:00",
            f"{gtin(1)};9,99;2026-10-15T00:00:00+03:00",  # same moment: skipped
            f"{gtin(2)};1.234;2026-10-01",  # RON has 2 decimals
            "4006381333931;1.00;2026-10-01",  # valid GTIN, not this store's
            f"{gtin(2)};0;2026-10-02",
        ]
    )
    summary = run_import(engine, text)
    assert (summary.imported, summary.skipped) == (2, 1)
    assert [row for row, _ in summary.refused] == [5, 6, 7]
    assert history_of(engine, first) == [(1150, SOURCE), (1000, SOURCE)]
    assert history_of(engine, second) == []
    again = run_import(engine, text)  # the same file twice adds nothing
    assert (again.imported, again.skipped) == (0, 3)
    assert history_of(engine, first) == [(1150, SOURCE), (1000, SOURCE)]
    with Session(engine) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "price_history.import")
        ).all()
    assert [json.loads(entry.detail) for entry in entries] == [
        {"imported": 2, "skipped": 1, "refused": 3, "products": 1},
        {"imported": 0, "skipped": 3, "refused": 3, "products": 0},
    ]


def test_import_writes_skips_and_audits_on_sqlite(engine) -> None:
    check_import_writes_skips_and_audits(engine)


def test_import_writes_skips_and_audits_on_postgresql(pg_engine) -> None:
    check_import_writes_skips_and_audits(pg_engine)


def test_cli_imports_and_the_promotion_label_gets_its_prior_price(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESL_RENDER_WORKERS", "1")
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    settings = Settings.from_env()
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    (product_id,) = seed(engine, products=1, labels=True)
    now = datetime.now(UTC)
    with db.session_scope(engine) as s:
        s.add(
            Promotion(
                product_id=product_id,
                price_minor=799,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=5),
            )
        )
    start = (now - timedelta(days=60)).date().isoformat()
    export = tmp_path / "history.csv"
    export.write_text(
        f"gtin;price;effective_at\n{gtin(1)};9,00;{start}\n{gtin(9)};1,00;{start}\n",
        encoding="utf-8-sig",
    )
    result = CliRunner().invoke(main, ["history", "import", str(export)])
    assert result.exit_code == 0, result.output
    assert "imported 1, skipped 0 (already known), refused 1" in result.output
    assert "row 3: gtin: no product of this store has this GTIN" in result.output
    assert "labels: rendered 1" in result.output
    assert history_of(engine, product_id) == [(900, SOURCE)]
    from esl_controller.labels.catalogue_slice import CatalogueSlice

    with Session(engine) as s:
        label = s.get(Label, "L-1")
        job = CatalogueSlice.load(s, [label], datetime.now(UTC)).job_for(label)
    assert job.content.promo is not None
    assert job.content.promo.prior_lowest is not None
    assert job.content.promo.prior_lowest.minor == 900
    engine.dispose()


def test_cli_refuses_a_file_without_the_columns(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    engine = db.make_engine(Settings.from_env().resolved_database_url)
    db.init_db(engine)
    seed(engine, products=1)
    engine.dispose()
    export = tmp_path / "history.csv"
    export.write_text("sku;price\n1;2\n")
    result = CliRunner().invoke(main, ["history", "import", str(export)])
    assert result.exit_code != 0
    assert "missing columns gtin, effective_at" in result.output
    assert "nothing imported" in result.output
