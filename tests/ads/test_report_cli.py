"""`esl-controller report`: the API's report written to a file, with progress by chunks."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from esl_controller.ads.report_cli import write_report
from esl_controller.cli import main
from esl_controller.clock import utcnow
from tests.ads.billing_log import Billed, append_impressions
from tests.ads.conftest import AdsWorld
from tests.support.chain_stores import play_everywhere, seed_chain

START = datetime(2026, 1, 5, 12, tzinfo=UTC)


def seed(engine: Engine, world: AdsWorld) -> None:
    append_impressions(
        engine,
        [
            Billed(
                started_at=START + timedelta(days=day),
                campaign_id=world.campaign_id,
                advertiser_id=world.advertiser_id,
                player_id=world.declared_player,
                multiplier_milli=2000,
                cpm_minor=1250,
            )
            for day in (0, 40, 80)  # January, February, March
        ],
    )


def test_writes_the_csv_with_progress_over_months(engine: Engine, ads_world, tmp_path):
    seed(engine, ads_world)
    seen: list[tuple[int, int]] = []
    out = tmp_path / "reports" / "milk.csv"

    written = write_report(
        engine,
        ads_world.campaign_id,
        "2026-01-01",
        "2026-03-31",
        "csv",
        "day",
        out,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert written.plays == 3
    assert written.spend_minor == 8  # 3 plays x 2 impressions x 12.50 / 1000 = 7.5 -> 8
    assert out.read_bytes().decode("utf-8").count("\n") > 3
    # One step per UTC month read: store-local Jan 1 (Bucharest) starts on Dec 31 in UTC.
    assert len(seen) == 4
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (90, 90)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_writes_json_to_a_stream(engine: Engine, ads_world):
    seed(engine, ads_world)
    stream = io.BytesIO()
    write_report(
        engine, ads_world.campaign_id, "2026-01-01", "2026-01-31", "json", "player", stream
    )
    report = json.loads(stream.getvalue())
    assert report["total"]["plays"] == 1


def test_unknown_campaign_and_bad_period_are_clear_errors(engine: Engine, ads_world, tmp_path):
    with pytest.raises(LookupError, match="no campaign #999"):
        write_report(engine, 999, None, None, "csv", "day", tmp_path / "x.csv")
    with pytest.raises(ValueError, match="to: must be after"):
        write_report(
            engine,
            ads_world.campaign_id,
            "2026-02-01",
            "2026-01-01",
            "csv",
            "day",
            tmp_path / "x.csv",
        )
    with pytest.raises(ValueError, match="format"):
        write_report(
            engine,
            ads_world.campaign_id,
            "2026-01-01",
            "2026-01-02",
            "xlsx",
            "day",
            tmp_path / "x.csv",
        )
    assert not (tmp_path / "x.csv").exists()


def test_one_store_of_a_chain_campaign_from_the_command_line(engine, settings, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    world = seed_chain(engine)
    plays = {"buc-centre": 2, "buc-north": 1, "london": 3}
    play_everywhere(engine, settings, world, world.dairy_campaign_id, plays, start=utcnow())
    args = ["report", "--campaign", str(world.dairy_campaign_id), "--format", "json"]
    whole = CliRunner().invoke(main, [*args, "--group-by", "store"])
    assert whole.exit_code == 0, whole.output
    groups = json.loads(whole.stdout)["groups"]
    assert [(g["key"], g["plays"]) for g in groups] == sorted(plays.items())
    london = CliRunner().invoke(main, [*args, "--store", "london", "--group-by", "player"])
    document = json.loads(london.stdout)
    assert document["store"] == "london" and document["total"]["plays"] == 3
    assert document["total"]["spend_minor"] == next(
        g["spend_minor"] for g in groups if g["key"] == "london"
    )
    unknown = CliRunner().invoke(main, [*args, "--store", "paris"])
    assert unknown.exit_code != 0 and "there is no store 'paris'" in unknown.output
