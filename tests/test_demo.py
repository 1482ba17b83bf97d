"""The README's first command, minus the terminal: the demo delivers every label."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esl_controller import db
from esl_controller.broker import free_port
from esl_controller.config import Settings
from esl_controller.demo import DemoOptions, run_demo
from esl_controller.models import Label


@pytest.mark.mqtt
def test_demo_on_embedded_defaults_delivers_every_label(tmp_path):
    settings = Settings(data_dir=tmp_path, mqtt_url="", topic_prefix="demo-test")
    options = DemoOptions(
        products=40,
        stations=2,
        airtime_s=0.0,
        web_port=free_port(),
        exit_when_delivered=True,
        delivery_timeout_s=120,
        access_point_tags=3,
        access_point_checkin_s=0.5,
    )
    assert run_demo(settings, options, wait=lambda: None) == 0
    engine = db.make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        states = dict(
            session.execute(select(Label.state, func.count()).group_by(Label.state)).all()
        )
        on_ap = session.scalars(select(Label).where(Label.base_station_id == "ap-1")).all()
    assert states == {"acked": 43}  # 40 through the MQTT base stations, 3 on the AP
    assert len(on_ap) == 3 and {label.model for label in on_ap} == {
        "2.9-bwr",
        "1.54-bwr",
        "4.2-bwr",
    }
    assert all(label.shown_hash == label.content_hash for label in on_ap)
    pngs = list((tmp_path / "label_images").rglob("*.png"))
    assert len(pngs) == 40  # what the simulated MQTT stations show
