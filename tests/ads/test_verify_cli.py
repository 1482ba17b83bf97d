"""`esl-controller checkpoint-impressions` and `verify-impressions --anchor`: a checkpoint
file kept by a buyer catches records cut from the end of the log; `--store` gives one
store's verdict in a chain."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import delete, func, select, update

from esl_controller.ads.ingest import PlayIngestor
from esl_controller.cli import main
from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.models import Impression, ImpressionCheckpoint, ImpressionHourTotal
from tests.support.chain_stores import play_everywhere, seed_chain


def test_a_kept_checkpoint_catches_a_truncated_log(
    engine, settings, ads_world, make_pop, monkeypatch, tmp_path
):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    PlayIngestor(engine, settings).ingest([make_pop() for _ in range(4)], "mqtt")
    kept = tmp_path / "checkpoint.json"
    taken = CliRunner().invoke(main, ["checkpoint-impressions", "--out", str(kept)])
    assert taken.exit_code == 0, taken.output
    document = json.loads(kept.read_text())
    assert document["head_seq"] == 4
    fine = CliRunner().invoke(main, ["verify-impressions", "--anchor", str(kept)])
    assert fine.exit_code == 0, fine.output
    assert "impression chain OK: 4 records verified" in fine.output
    # someone with database access drops the newest record and the checkpoints it is in
    with session_scope(engine) as session:
        session.execute(delete(Impression).where(Impression.seq == 4))
        session.execute(delete(ImpressionCheckpoint))
    cut = CliRunner().invoke(main, ["verify-impressions", "--anchor", str(kept)])
    assert cut.exit_code != 0
    assert "chain ends at seq 3, before the anchor seq 4: records were removed" in cut.output


def test_a_forged_checkpoint_file_is_refused(
    engine, settings, ads_world, make_pop, monkeypatch, tmp_path
):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    PlayIngestor(engine, settings).ingest([make_pop()], "mqtt")
    kept = tmp_path / "checkpoint.json"
    CliRunner().invoke(main, ["checkpoint-impressions", "--out", str(kept)])
    document = json.loads(kept.read_text())
    kept.write_text(json.dumps(dict(document, head_hash="0" * 64)))
    result = CliRunner().invoke(main, ["verify-impressions", "--anchor", str(kept)])
    assert result.exit_code != 0
    assert "--anchor: checkpoint at seq 1: the signature does not match" in result.output
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Impression)) == 1


def test_verify_impressions_per_store_of_a_chain(engine, settings, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    world = seed_chain(engine)
    plays = {"buc-centre": 2, "buc-north": 1, "london": 3}
    play_everywhere(engine, settings, world, world.dairy_campaign_id, plays, start=utcnow())
    whole = CliRunner().invoke(
        main, ["verify-impressions", "--campaign", str(world.dairy_campaign_id)]
    )
    assert whole.exit_code == 0, whole.output
    assert "store london: 3 records (seq 4..6), no checkpoint, totals reconcile" in whole.output
    with session_scope(engine) as session:
        session.execute(
            update(ImpressionHourTotal)
            .where(ImpressionHourTotal.player_id == world.dairy_screen("london"))
            .values(spend_basis=1)
        )
    london = CliRunner().invoke(main, ["verify-impressions", "--store", "london"])
    assert london.exit_code != 0
    assert "store london: 3 records (seq 4..6), no checkpoint, 1 totals differ" in london.output
    north = CliRunner().invoke(main, ["verify-impressions", "--store", "buc-north"])
    assert north.exit_code == 0, north.output
    unknown = CliRunner().invoke(main, ["verify-impressions", "--store", "paris"])
    assert unknown.exit_code != 0 and "--store: there is no store 'paris'" in unknown.output
