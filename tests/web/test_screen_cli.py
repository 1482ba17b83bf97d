"""`esl-controller player add|pair|revoke` against a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session

from esl_controller import db
from esl_controller.cli import main
from esl_controller.config import Settings
from esl_controller.models import AuditEntry, Player, Store
from esl_controller.web import screen_pairing


@pytest.fixture
def cli_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    settings = Settings.from_env()
    engine = db.make_engine(settings.resolved_database_url)
    db.init_db(engine)
    with db.session_scope(engine) as session:
        session.add(Store(id=settings.store_id, name="Test"))
    yield engine
    engine.dispose()


def test_pair_a_code_then_revoke_the_screen(cli_engine) -> None:
    with db.session_scope(cli_engine) as session:
        pending = screen_pairing.start(session, datetime.now(UTC))
    runner = CliRunner()
    result = runner.invoke(
        main, ["player", "pair", pending.code, "--zone", "dairy", "--name", "Dairy screen"]
    )
    assert result.exit_code == 0, result.output
    assert "player dairy-screen in zone dairy" in result.output
    with db.session_scope(cli_engine) as session:
        credential = screen_pairing.claim(
            session, datetime.now(UTC), code=pending.code, claim=pending.claim
        )
    assert credential is not None and credential.player == "dairy-screen"

    assert runner.invoke(main, ["player", "revoke", "dairy-screen"]).exit_code == 0
    again = runner.invoke(main, ["player", "revoke", "dairy-screen"])
    assert again.exit_code == 1 and "has no screen credential" in again.output
    with Session(cli_engine) as session:
        actions = [(e.actor, e.action) for e in session.scalars(select(AuditEntry)).all()]
    assert actions == [("cli", "player.pair"), ("cli", "player.revoke")]


def test_add_prints_a_one_time_link_and_a_wrong_code_is_an_error(cli_engine) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["player", "add", "kiosk-1", "--zone", "entrance", "--base-url", "https://shop.example/"],
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("https://shop.example/screen#pair=")
    with db.session_scope(cli_engine) as session:
        credential = screen_pairing.claim(session, datetime.now(UTC), link=link.split("#pair=")[1])
        assert credential is not None and credential.player == "kiosk-1"
        assert session.get(Player, "kiosk-1").zone_id == "entrance"

    wrong = runner.invoke(main, ["player", "pair", "XXXXXX", "--zone", "z", "--name", "N"])
    assert wrong.exit_code == 1 and "no screen shows this code" in wrong.output
