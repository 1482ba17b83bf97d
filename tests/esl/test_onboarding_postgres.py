"""The onboarding queries (new labels, station health, CSV import) on PostgreSQL too."""

from __future__ import annotations

from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.esl import link_import, station_health
from esl_controller.models import OutboxMessage
from esl_controller.web import queries
from tests.support.label_links import GTINS, seed_unlinked_store


def test_new_labels_import_and_health_on_postgres(pg_engine, settings):
    labels = seed_unlinked_store(pg_engine, settings, labels=3)
    with Session(pg_engine, expire_on_commit=False) as s:
        assert queries.summary(s).labels_new == 3
        data = f"{labels[0]};{GTINS[0]}\n{labels[1]};123\n".encode()
        report = link_import.import_links(s, settings, data, actor="bob")
        assert report.linked == 1 and len(report.errors) == 1
        page = queries.list_labels(s, queries.LabelFilters(new=True), 50, 0)
        assert sorted(row["id"] for row in page.items) == sorted(labels[1:])
    with session_scope(pg_engine) as s:
        s.add(OutboxMessage(label_id=labels[0], base_station_id="bs-1", payload=b"x"))
    with Session(pg_engine) as s:
        health = station_health.load_health(s, "bs-1", None)
        assert (health.pending, health.progress.total) == (1, 1)
        (station,) = queries.list_base_stations(s)
        assert station["eta_source"] == "nominal"
