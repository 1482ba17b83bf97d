"""The stores of a chain: `store add|list|set` with refusals a store worker understands,
every change in the audit log, and the settings a store's worker runs on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from esl_controller import audit, db, stores
from esl_controller.cli import main
from esl_controller.config import Settings
from esl_controller.models import AuditEntry, Store


@pytest.fixture
def cli_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    monkeypatch.setenv("ESL_ERP_URL", "http://erp.example.test/feed")
    engine = db.make_engine(Settings.from_env().resolved_database_url)
    db.init_db(engine)
    yield engine
    engine.dispose()


def _store(*args: str):
    return CliRunner().invoke(main, ["store", *args])


BUCHAREST = ("--timezone", "Europe/Bucharest", "--locale", "ro_RO", "--currency", "RON")


def _stored(engine, store_id: str) -> Store | None:
    with Session(engine) as session:
        return session.get(Store, store_id)


def _audit(engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))


def test_store_add_keeps_every_value_and_audits_it(cli_engine) -> None:
    result = _store(
        "add", "buc-01", "--name", "București Unirii", *BUCHAREST,
        "--erp-feed", "https://erp.example.test/buc-01", "--delisting-ratio", "0.1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added store buc-01" in result.output
    row = _stored(cli_engine, "buc-01")
    assert (row.name, row.timezone, row.locale, row.currency) == (
        "București Unirii",
        "Europe/Bucharest",
        "ro_RO",
        "RON",
    )
    assert (row.erp_feed_url, row.delisting_ratio) == ("https://erp.example.test/buc-01", 0.1)
    (entry,) = _audit(cli_engine)
    assert (entry.actor, entry.action, entry.target, entry.store_id) == (
        audit.CLI_ACTOR,
        "store.add",
        "store:buc-01",
        "buc-01",
    )
    assert json.loads(entry.detail)["currency"] == "RON"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--timezone", "Europe/Atlantis"), "unknown time zone 'Europe/Atlantis'"),
        (("--locale", "xx_YY"), "unknown locale 'xx_YY'"),
        (("--currency", "DOGE"), "unknown currency 'DOGE'"),
        (("--delisting-ratio", "1.5"), "must be more than 0 and at most 1"),
        (("--erp-feed", "erp feed please"), "neither a URL"),
    ],
)
def test_store_add_refuses_a_bad_value_and_writes_nothing(cli_engine, args, says) -> None:
    result = _store("add", "buc-02", "--name", "Militari", *args)
    assert result.exit_code != 0
    assert says in result.output
    assert "Traceback" not in result.output
    assert _stored(cli_engine, "buc-02") is None
    assert _audit(cli_engine) == []


def test_store_add_refuses_an_id_in_use(cli_engine) -> None:
    assert _store("add", "buc-01", "--name", "Unirii", *BUCHAREST).exit_code == 0
    again = _store("add", "buc-01", "--name", "Another", *BUCHAREST)
    assert again.exit_code != 0
    assert "store 'buc-01' already exists" in again.output
    assert _stored(cli_engine, "buc-01").name == "Unirii"


def test_store_add_refuses_an_id_that_cannot_be_a_topic_level(cli_engine) -> None:
    result = _store("add", "buc/01", "--name", "Unirii")
    assert result.exit_code != 0
    assert "store id 'buc/01'" in result.output


def test_store_set_changes_only_what_it_names_and_audits_before_and_after(cli_engine) -> None:
    assert _store("add", "buc-01", "--name", "Unirii", *BUCHAREST).exit_code == 0
    result = _store("set", "buc-01", "--currency", "eur", "--delisting-ratio", "0.3")
    assert result.exit_code == 0, result.output
    row = _stored(cli_engine, "buc-01")
    assert (row.name, row.currency, row.delisting_ratio, row.locale) == (
        "Unirii",
        "EUR",
        0.3,
        "ro_RO",
    )
    change = _audit(cli_engine)[-1]
    assert change.action == "store.set"
    assert json.loads(change.detail) == {
        "currency": {"before": "RON", "after": "EUR"},
        "delisting_ratio": {"before": None, "after": 0.3},
    }


def test_store_set_refuses_a_bad_value_and_keeps_the_store(cli_engine) -> None:
    assert _store("add", "buc-01", "--name", "Unirii", *BUCHAREST).exit_code == 0
    result = _store("set", "buc-01", "--name", "Unirii 2", "--timezone", "Mars/Olympus")
    assert result.exit_code != 0
    assert "unknown time zone" in result.output
    assert _stored(cli_engine, "buc-01").name == "Unirii"


def test_store_set_of_an_unknown_store_says_how_to_add_it(cli_engine) -> None:
    result = _store("set", "cluj-01", "--name", "Cluj")
    assert result.exit_code != 0
    assert "no store 'cluj-01'" in result.output
    assert "esl-controller store add cluj-01" in result.output


def test_store_list_shows_each_store_and_the_defaults_it_falls_back_on(cli_engine) -> None:
    _store("add", "buc-01", "--name", "Unirii", *BUCHAREST, "--erp-feed", "http://erp/buc")
    _store("add", "cluj-01", "--name", "Cluj", "--currency", "RON")
    lines = _store("list").output.splitlines()
    assert lines[0].split("\t") == [
        "buc-01", "Unirii", "Europe/Bucharest", "ro_RO", "RON", "http://erp/buc", "(default) 0.2",
        "(default) store", "(default) -",
    ]  # fmt: skip
    assert lines[1].split("\t")[0] == "cluj-01"
    assert "(default) http://erp.example.test/feed" in lines[1]


def test_store_add_and_set_keep_the_feed_scope_and_the_odoo_warehouse(cli_engine) -> None:
    added = _store(
        "add", "buc-01", "--name", "Unirii", *BUCHAREST,
        "--erp-feed-scope", "chain", "--odoo-warehouse", "3",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    row = _stored(cli_engine, "buc-01")
    assert (row.erp_feed_scope, row.odoo_warehouse) == ("chain", 3)
    assert _store("list").output.split("\t")[-2:] == ["chain", "3\n"]

    changed = _store("set", "buc-01", "--odoo-warehouse", "5")
    assert changed.exit_code == 0, changed.output
    assert json.loads(_audit(cli_engine)[-1].detail) == {
        "odoo_warehouse": {"before": 3, "after": 5}
    }
    row = _stored(cli_engine, "buc-01")
    assert (row.erp_feed_scope, row.odoo_warehouse) == ("chain", 5)

    # Empty and 0 give the store back to the environment's ESL_ERP_FEED_SCOPE / warehouse.
    back = _store("set", "buc-01", "--erp-feed-scope", "", "--odoo-warehouse", "0")
    assert back.exit_code == 0, back.output
    row = _stored(cli_engine, "buc-01")
    assert (row.erp_feed_scope, row.odoo_warehouse) == (None, None)
    assert _store("list").output.split("\t")[-2:] == ["(default) store", "(default) -\n"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--erp-feed-scope", "region"), "'region' is not one of 'store', 'chain'"),
        (("--odoo-warehouse", "-1"), "-1 is not in the range x>=0"),
        (("--odoo-warehouse", "two"), "'two' is not a valid integer"),
    ],
)
def test_store_add_refuses_a_scope_or_warehouse_it_cannot_use(cli_engine, args, says) -> None:
    result = _store("add", "buc-02", "--name", "Militari", *args)
    assert result.exit_code != 0
    assert says in result.output
    assert _stored(cli_engine, "buc-02") is None


def test_a_scope_that_is_neither_store_nor_chain_is_refused_by_the_store_rules(session) -> None:
    with pytest.raises(stores.StoreError, match="'region' is not a feed scope"):
        stores.add_store(
            session, "north", stores.StoreChange(name="North", erp_feed_scope="region"), "cli"
        )
    with pytest.raises(stores.StoreError, match="no Odoo record id"):
        stores.add_store(
            session, "north", stores.StoreChange(name="North", odoo_warehouse=-2), "cli"
        )


def test_the_store_row_wins_over_the_environment(session: Session, settings: Settings) -> None:
    base = settings.with_overrides(erp_url="http://env-feed", delist_safety_ratio=0.2)
    stores.add_store(
        session,
        "north",
        stores.StoreChange(name="North", erp_feed_url="http://north-feed", delisting_ratio=0.05),
        actor="cli",
    )
    stores.add_store(session, "south", stores.StoreChange(name="South"), actor="cli")
    north = stores.effective_settings(session, base, "north")
    south = stores.effective_settings(session, base, "south")
    assert (north.store_id, north.erp_url, north.delist_safety_ratio) == (
        "north",
        "http://north-feed",
        0.05,
    )
    assert (south.store_id, south.erp_url, south.delist_safety_ratio) == (
        "south",
        "http://env-feed",
        0.2,
    )


def test_the_feed_scope_and_odoo_warehouse_of_the_row_win_over_the_environment(
    session: Session, settings: Settings
) -> None:
    base = settings.with_overrides(erp_feed_scope="store", odoo_warehouse=1)
    change = stores.StoreChange(name="North", erp_feed_scope="Chain", odoo_warehouse=2)
    stores.add_store(session, "north", change, actor="cli")
    stores.add_store(session, "south", stores.StoreChange(name="South"), actor="cli")
    north = stores.effective_settings(session, base, "north")
    south = stores.effective_settings(session, base, "south")
    assert (north.erp_feed_scope, north.odoo_warehouse) == ("chain", 2)
    assert (south.erp_feed_scope, south.odoo_warehouse) == ("store", 1)


def test_an_unknown_store_is_refused_with_how_to_add_it(session, settings) -> None:
    stores.add_store(session, "north", stores.StoreChange(name="North"), actor="cli")
    with pytest.raises(stores.UnknownStore, match=r"stores: north.*store add ghost"):
        stores.effective_settings(session, settings, "ghost")


def test_only_a_database_without_stores_gets_one_by_itself(session: Session) -> None:
    assert stores.bootstrap_store(session, "store-1") is not None
    assert stores.bootstrap_store(session, "store-2") is None
    assert [row.id for row in stores.list_stores(session)] == ["store-1"]


def test_sync_reads_the_feed_on_the_store_row_not_the_environments(cli_engine, monkeypatch):
    from sqlalchemy import func

    from esl_controller.models import Product
    from esl_controller.sims.erp import ErpSimulator

    monkeypatch.setenv("ESL_ERP_URL", "http://127.0.0.1:9/nothing-listens-here")
    monkeypatch.setenv("ESL_ERP_TOKEN", "t0k")
    monkeypatch.setenv("ESL_STORE_ID", "buc-01")
    with ErpSimulator(products=12, store_id="buc-01", token="t0k") as erp:
        added = _store("add", "buc-01", "--name", "Unirii", *BUCHAREST, "--erp-feed", erp.url)
        assert added.exit_code == 0, added.output
        result = CliRunner().invoke(main, ["sync", "--full"])
    assert result.exit_code == 0, result.output
    with Session(cli_engine) as session:
        stored = session.scalar(
            select(func.count()).select_from(Product).where(Product.store_id == "buc-01")
        )
    assert stored == 12


def test_sync_for_a_store_the_chain_does_not_have_says_how_to_add_it(cli_engine, monkeypatch):
    assert _store("add", "buc-01", "--name", "Unirii", *BUCHAREST).exit_code == 0
    monkeypatch.setenv("ESL_STORE_ID", "cluj-01")
    result = CliRunner().invoke(main, ["sync"])
    assert result.exit_code != 0
    assert "esl-controller store add cluj-01" in result.output


def test_sync_of_a_chain_store_reads_its_records_of_head_offices_feed(cli_engine, monkeypatch):
    from esl_controller.models import Product
    from esl_controller.sims.erp import ErpSimulator

    monkeypatch.setenv("ESL_ERP_TOKEN", "t0k")
    monkeypatch.setenv("ESL_STORE_ID", "buc-01")
    with ErpSimulator(products=12, token="t0k", chain_stores=("buc-01", "cluj-01")) as erp:
        erp.ignore_store_filter()  # the worker's own check must keep cluj-01's records out
        for store_id in ("buc-01", "cluj-01"):
            added = _store(
                "add", store_id, "--name", store_id, *BUCHAREST,
                "--erp-feed", erp.url, "--erp-feed-scope", "chain",
            )  # fmt: skip
            assert added.exit_code == 0, added.output
        result = CliRunner().invoke(main, ["sync", "--full"])
        asked = {r.query.get("store") for r in erp.requests if r.path == "/products"}
        cluj_records = 12 + len(erp.promotion_ids(store="cluj-01"))
    assert result.exit_code == 0, result.output
    assert asked == {"buc-01"}
    assert "rejected 0" in result.output
    summary = next(line for line in result.output.splitlines() if "fetched" in line)
    assert summary.endswith(f"other stores' {cluj_records}")
    with Session(cli_engine) as session:
        stores_of_products = set(session.scalars(select(Product.store_id)))
    assert stores_of_products == {"buc-01"}
