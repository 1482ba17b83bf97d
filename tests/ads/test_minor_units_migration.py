"""Schema 6 on a stored version-5 database: CPMs that were kept as major x 100 become each
currency's minor units, the chain is re-hashed at v2 and verifies, the totals follow."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select, text
from sqlmodel import Session, SQLModel

from esl_controller import db
from esl_controller.ads import chain
from esl_controller.ads.verify_cli import verify_impressions
from esl_controller.db import fill_impression_hour_totals
from esl_controller.models import (
    Advertiser,
    Campaign,
    Impression,
    ImpressionHourTotal,
    Incident,
)

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _v1_hash(prev_hash: str, fields: dict) -> str:
    """How schema 5 hashed a row (docs/reports.md before v2): prev + newline + canonical."""
    values = ["esl-impression-v1"] + [
        chain.canonical_value(name, fields[name]) for name in chain.BILLED_FIELDS
    ]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def _version_5_database(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'v5.db'}")
    with engine.begin() as conn:
        tables = [
            table
            for name, table in SQLModel.metadata.tables.items()
            if name != "impression_checkpoint"
        ]
        SQLModel.metadata.create_all(conn, tables=tables)
        conn.execute(text("INSERT INTO schema_meta (key, value) VALUES ('schema_version', '5')"))
        for column in ("body", "body_content_type", "body_filename"):  # added by schema 6
            conn.execute(text(f"ALTER TABLE report_delivery DROP COLUMN {column}"))
    with Session(engine) as session:
        advertiser = Advertiser(name="Buyer")
        session.add(advertiser)
        session.flush()
        stored_x100 = {"JPY": 50_000, "KWD": 12_340, "EUR": 450, "XAF": 450}  # XAF: 4.50
        campaigns = {}
        for code, cpm in stored_x100.items():
            campaign = Campaign(
                advertiser_id=advertiser.id,
                name=code,
                starts_at=T0 - timedelta(days=1),
                ends_at=T0 + timedelta(days=9),
                cpm_minor=cpm,
                currency=code,
            )
            session.add(campaign)
            session.flush()
            campaigns[code] = campaign.id
        prev = chain.GENESIS_HASH
        for n, code in enumerate(["JPY", "EUR", "KWD", "JPY"]):
            fields = {
                "play_id": str(uuid.uuid4()),
                "campaign_id": campaigns[code],
                "advertiser_id": advertiser.id,
                "creative_id": None,
                "player_id": "s1",
                "zone_id": "entrance",
                "started_at": T0 + timedelta(minutes=n),
                "play_ms": 10_000,
                "multiplier_milli": 2000,
                "multiplier_source": "declared",
                "impressions_milli": 2000,
                "cpm_minor": stored_x100[code],
                "currency": code,
            }
            digest = _v1_hash(prev, fields)
            session.add(Impression(**fields, campaign_name=code, prev_hash=prev, hash=digest))
            prev = digest
        session.commit()
    with engine.begin() as conn:
        fill_impression_hour_totals(conn)
    return engine, campaigns


def test_version_5_cpms_and_chain_are_migrated(tmp_path):
    engine, campaigns = _version_5_database(tmp_path)
    assert db.init_db(engine) == db.SCHEMA_VERSION
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("report_delivery")}
    assert {"body", "body_content_type", "body_filename"} <= columns
    with Session(engine) as session:
        cpm = dict(session.execute(select(Campaign.currency, Campaign.cpm_minor)).all())
        assert cpm == {"JPY": 500, "KWD": 123_400, "EUR": 450, "XAF": 5}
        rows = session.scalars(select(Impression).order_by(Impression.seq)).all()
        assert [(r.currency, r.cpm_minor) for r in rows] == [
            ("JPY", 500),
            ("EUR", 450),
            ("KWD", 123_400),
            ("JPY", 500),
        ]
        spend = {
            total.currency: total.spend_basis
            for total in session.scalars(select(ImpressionHourTotal))
        }
        # 2 impressions x CPM: JPY 500 -> 1 JPY per play, 2 plays
        assert spend == {"JPY": 2 * 2000 * 500, "EUR": 2000 * 450, "KWD": 2000 * 123_400}
        notes = session.scalars(
            select(Incident.message).where(Incident.kind == "schema_6_minor_units")
        ).all()
    assert any(
        note.startswith(f"campaign {campaigns['XAF']}: CPM 4.50 XAF rounded") for note in notes
    )
    assert any("re-hashed as esl-impression-v2" in note for note in notes)
    result = verify_impressions(engine)
    assert result.ok, result.reason
    assert result.checked == 4
