"""Chain campaigns on one database (SQLite and the local PostgreSQL): plays from three
stores bill into one campaign, its report equals the sum of the per-store reports under
every grouping, a campaign limited to two stores never plays or bills in the third, and
the impression log verifies store by store and whole."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esl_controller.ads import checkpoints
from esl_controller.ads.campaign_reports import UnknownStoreError, build_campaign_report
from esl_controller.ads.impressions import spend_minor
from esl_controller.ads.reports import GROUP_BYS
from esl_controller.ads.verify_cli import prove_impressions
from esl_controller.clock import utcnow
from esl_controller.config import Settings
from esl_controller.models import Impression, ImpressionHourTotal
from esl_controller.signage.campaigns import load_campaigns
from esl_controller.signage.targeting import Pacing, decide
from esl_controller.signage.triggers import AudienceTrigger
from tests.support.chain_stores import ChainWorld, play_everywhere, seed_chain

PLAYS = {"buc-centre": 7, "buc-north": 3, "london": 5}


@pytest.fixture
def chain(chain_engine: Engine) -> ChainWorld:
    return seed_chain(chain_engine)


def _report(engine: Engine, campaign_id: int, group_by: str, store: str | None = None):
    now = utcnow()
    with Session(engine) as session:
        return build_campaign_report(
            session,
            campaign_id,
            now - timedelta(days=3),
            now + timedelta(days=1),
            group_by=group_by,
            generated_at=now,
            store_id=store,
        )


def test_plays_of_every_store_bill_into_one_campaign_and_add_up_per_store(
    chain_engine: Engine, settings: Settings, chain: ChainWorld
):
    start = utcnow() - timedelta(hours=30)  # across a store-local midnight or two
    result = play_everywhere(
        chain_engine, settings, chain, chain.dairy_campaign_id, PLAYS, start=start
    )
    assert (result.accepted, result.rejected) == (15, [])
    for group_by in GROUP_BYS:
        whole = _report(chain_engine, chain.dairy_campaign_id, group_by)
        stores = [_report(chain_engine, chain.dairy_campaign_id, group_by, s) for s in PLAYS]
        assert whole.total.plays == 15
        for figure in ("plays", "impressions_milli", "spend_basis", "spend_minor"):
            assert getattr(whole.total, figure) == sum(getattr(s.total, figure) for s in stores)
        per_key: dict[str, int] = {}
        for report in stores:
            for group in report.groups:
                per_key[group.key] = per_key.get(group.key, 0) + group.spend_minor
        assert {g.key: g.spend_minor for g in whole.groups} == per_key, group_by
    # 2.5 impressions a play at 12.37 RON CPM: 3.0925 bani a play, rounded per store.
    assert whole.total.spend_minor == sum(spend_minor(n * 2_500 * 1237) for n in PLAYS.values())
    by_store = _report(chain_engine, chain.dairy_campaign_id, "store")
    assert [(g.key, g.label, g.plays) for g in by_store.groups] == [
        ("buc-centre", "Bucharest Centre", 7),
        ("buc-north", "Bucharest North", 3),
        ("london", "London Soho", 5),
    ]
    london = _report(chain_engine, chain.dairy_campaign_id, "player", "london")
    assert {screen.store_id for screen in london.screens} == {"london"}
    assert london.tz == "Europe/London" and london.store_filter == "london"
    with pytest.raises(UnknownStoreError, match="there is no store 'paris'"):
        _report(chain_engine, chain.dairy_campaign_id, "day", "paris")


def test_a_campaign_limited_to_two_stores_never_plays_or_bills_in_the_third(
    chain_engine: Engine, settings: Settings, chain: ChainWorld
):
    now = utcnow()
    with Session(chain_engine) as session:
        in_london = load_campaigns(session, "london", now)
        in_centre = load_campaigns(session, "buc-centre", now)
    assert chain.two_store_campaign_id not in {c.id for c in in_london.campaigns}
    assert chain.two_store_campaign_id in {c.id for c in in_centre.campaigns}
    assert in_london.zone_kinds == {"london-dairy": "dairy", "london-entrance": "entrance"}
    trigger = AudienceTrigger("cam-1", "london-entrance", now, 4, {}, {}, 10.0, 4.0)
    decision = decide(
        trigger,
        in_london.campaigns,
        ["london-entrance-screen"],
        Pacing(),
        now,
        in_london.timezone,
        30,
        zone_kind=in_london.zone_kinds["london-entrance"],
    )
    # The London entrance: not the two-store campaign, not the dairy one; the coffee one.
    assert decision is not None and decision.campaign_id == chain.other_campaign_id

    result = play_everywhere(
        chain_engine,
        settings,
        chain,
        chain.two_store_campaign_id,
        {store: 2 for store in chain.stores},
        start=now - timedelta(hours=2),
    )
    assert result.accepted == 4
    assert len(result.rejected) == 2
    assert all("does not run in store 'london'" in reason for _, reason in result.rejected)
    report = _report(chain_engine, chain.two_store_campaign_id, "store")
    assert [g.key for g in report.groups] == ["buc-centre", "buc-north"]
    assert [s.id for s in report.stores] == ["buc-centre", "buc-north"]

    entrance = play_everywhere(
        chain_engine,
        settings,
        chain,
        chain.dairy_campaign_id,
        {"buc-north": 1},
        start=now - timedelta(hours=1),
        players="entrance",
    )
    assert entrance.accepted == 0
    assert "does not target zone kind 'entrance'" in entrance.rejected[0][1]


def test_the_log_verifies_per_store_and_whole(
    chain_engine: Engine, settings: Settings, chain: ChainWorld
):
    start = utcnow() - timedelta(hours=3)
    play_everywhere(chain_engine, settings, chain, chain.dairy_campaign_id, PLAYS, start=start)
    play_everywhere(chain_engine, settings, chain, chain.other_campaign_id, PLAYS, start=start)
    for store in ("buc-centre", "london"):
        store_settings = Settings(**{**vars(settings), "store_id": store})
        checkpoints.take_checkpoint(chain_engine, store_settings, utcnow())
        play_everywhere(
            chain_engine, settings, chain, chain.other_campaign_id, {store: 1}, start=utcnow()
        )
    public = checkpoints.public_key_text(checkpoints.signing_key(settings))

    whole = prove_impressions(chain_engine, campaign_id=chain.dairy_campaign_id, public_key=public)
    assert whole.result.ok, whole.result.reason
    assert {s.store_id: s.records for s in whole.stores if s.records} == PLAYS
    signed = {s.store_id: s.checkpoints for s in whole.stores}
    assert signed == {"buc-centre": 1, "buc-north": 0, "london": 1}
    for store in PLAYS:
        assert prove_impressions(chain_engine, store_id=store, public_key=public).result.ok

    # An edited hourly total of one store fails that store and the whole, not the others.
    with Session(chain_engine) as session:
        session.execute(
            update(ImpressionHourTotal)
            .where(ImpressionHourTotal.player_id == chain.dairy_screen("buc-north"))
            .values(plays=ImpressionHourTotal.plays + 1)
        )
        session.commit()
    north = prove_impressions(chain_engine, store_id="buc-north", public_key=public)
    assert not north.result.ok and "buc-north-dairy-screen" in north.result.reason
    assert [s.totals_ok for s in north.stores] == [False]
    assert prove_impressions(chain_engine, store_id="buc-centre", public_key=public).result.ok
    assert not prove_impressions(chain_engine, public_key=public).result.ok

    # An altered record breaks the chain every store appends to: every store fails, and the
    # verdict names the store whose record it was.
    with Session(chain_engine) as session:
        seq = session.scalars(
            text("SELECT min(seq) FROM impression WHERE player_id = :p"),
            {"p": chain.dairy_screen("london")},
        ).one()
        session.execute(update(Impression).where(Impression.seq == seq).values(play_ms=1))
        session.commit()
    for store in PLAYS:
        broken = prove_impressions(chain_engine, store_id=store, public_key=public)
        assert not broken.result.ok
        assert (broken.result.first_bad_seq, broken.first_bad_store) == (seq, "london")
    with pytest.raises(LookupError, match="there is no store 'paris'"):
        prove_impressions(chain_engine, store_id="paris")
