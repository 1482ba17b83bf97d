"""`esl-controller zone list|kind`: a person gives a zone the kind chain campaigns aim at;
a bad kind or an unknown zone is refused in words and changes nothing."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.cli import main
from esl_controller.db import session_scope
from esl_controller.models import AuditEntry, Store, Zone


def test_a_zone_named_by_its_id_gets_the_chains_kind(engine, settings, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    with session_scope(engine) as session:
        session.add(Store(id="buc-north", name="Bucharest North"))
        session.flush()
        session.add(Zone(id="buc-north-lactate", store_id="buc-north", name="Lactate"))
    listed = CliRunner().invoke(main, ["zone", "list"])
    assert listed.exit_code == 0, listed.output
    assert "buc-north\tbuc-north-lactate\tlactate\tLactate" in listed.output

    for bad, words in (
        ("Dairy Aisle", "a zone kind is lower-case letters and digits joined by single dashes"),
        ("dairy--", "a zone kind is lower-case letters"),
    ):
        refused = CliRunner().invoke(main, ["zone", "kind", "buc-north-lactate", bad])
        assert refused.exit_code != 0 and words in refused.output
    unknown = CliRunner().invoke(main, ["zone", "kind", "nowhere", "dairy"])
    assert unknown.exit_code != 0 and "there is no zone 'nowhere'" in unknown.output

    done = CliRunner().invoke(main, ["zone", "kind", "buc-north-lactate", "dairy"])
    assert done.exit_code == 0, done.output
    with Session(engine) as session:
        assert session.get(Zone, "buc-north-lactate").kind == "dairy"
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "zone.kind"))
        [entry] = entries.all()
    assert (entry.actor, entry.target) == ("cli", "zone:buc-north-lactate")
    assert '"before": "lactate"' in entry.detail and '"after": "dairy"' in entry.detail
