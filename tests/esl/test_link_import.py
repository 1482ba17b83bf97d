"""CSV import of label links: each row judged alone, both separators, with or without BOM."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from esl_controller import audit
from esl_controller.cli import main
from esl_controller.esl import link_import
from esl_controller.models import Label
from tests.support.label_links import GTINS, seed_unlinked_store
from tests.support.label_templates import FITS_2_9, POSTER_ONLY, own_templates_dir


@pytest.fixture
def labels(engine, settings):
    return seed_unlinked_store(engine, settings)


def test_separators_and_header_are_recognised():
    rows, refused = link_import.parse_rows(
        "Label id;GTIN;Template\nA;5901234123457;promo\nB;4006381333931\n"
    )
    assert refused == []
    assert [(r.line, r.label_id, r.template) for r in rows] == [(2, "A", "promo"), (3, "B", None)]
    rows, _ = link_import.parse_rows("A,5901234123457,price\n")
    assert rows[0].template == "price"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"A;5901234123457;price;extra\n", "expected 2 or 3 columns"),
        (b";5901234123457\n", "label id and the GTIN are needed"),
        (b"A;5901234123457\nA;4006381333931\n", "already on line 1"),
    ],
)
def test_rows_that_cannot_be_read_are_refused_with_their_line(data, says):
    _, refused = link_import.parse_rows(link_import.decode(data))
    assert any(says in (row.error or "") for row in refused)


def test_a_file_that_is_not_utf8_is_refused_whole():
    with pytest.raises(link_import.ImportFileError, match="not UTF-8"):
        link_import.decode("NEW-0;5901234123457;Brânză\n".encode("cp1250"))


def test_good_rows_link_and_bad_rows_are_reported_alone(engine, settings, labels):
    data = (
        "\ufefflabel;gtin;template\n"
        f"{labels[0]};{GTINS[0]};price\n"
        f"NOPE;{GTINS[1]}\n"
        f"{labels[1]};5901234123458\n"
        f"{labels[2]};{GTINS[2]};poster\n"
        f"{labels[3]};{GTINS[1]}\n"
    ).encode()
    with Session(engine, expire_on_commit=False) as s:
        report = link_import.import_links(s, settings, data, actor="bob")
    assert report.linked == 2
    assert [(row.line, row.ok) for row in report.results] == [
        (2, True),
        (3, False),
        (4, False),
        (5, False),
        (6, True),
    ]
    errors = {row.line: row.error for row in report.errors}
    assert "unknown label" in errors[3]
    assert "check digit" in errors[4]
    assert "'poster' is not a label template here" in errors[5]
    with Session(engine) as s:
        assert s.get(Label, labels[0]).template == "price"
        assert s.get(Label, labels[3]).template == "auto"
        assert s.get(Label, labels[1]).product_id is None
        assert s.get(Label, labels[2]).product_id is None
        assert len(audit.recent(s, action_prefix="label.link")) == 2


def test_a_relinking_row_needs_the_relink_option(engine, settings, labels):
    with Session(engine, expire_on_commit=False) as s:
        link_import.import_links(s, settings, f"{labels[0]},{GTINS[0]}".encode(), actor="bob")
        report = link_import.import_links(
            s, settings, f"{labels[0]},{GTINS[1]}".encode(), actor="bob"
        )
        assert "already shows" in report.errors[0].error
        report = link_import.import_links(
            s, settings, f"{labels[0]},{GTINS[1]}".encode(), actor="bob", relink=True
        )
        assert report.linked == 1


def test_the_cli_links_good_rows_and_lists_bad_ones(
    engine, settings, labels, tmp_path, monkeypatch
):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ESL_STORE_ID", settings.store_id)
    path = tmp_path / "links.csv"
    path.write_text(f"{labels[0]};{GTINS[0]}\n{labels[1]};123\n{labels[2]}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["label", "import", str(path)])
    assert result.exit_code == 1
    assert "linked 1 of 3 rows" in result.output
    assert "line 2" in result.output and "line 3: NEW-2: expected 2 or 3 columns" in result.output
    with Session(engine) as s:
        assert s.get(Label, labels[0]).product_id is not None
        assert audit.recent(s)[0].actor == audit.CLI_ACTOR


def test_the_cli_link_asks_for_relink(engine, settings, labels, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ESL_STORE_ID", settings.store_id)
    assert CliRunner().invoke(main, ["label", "link", labels[0], GTINS[0]]).exit_code == 0
    moved = CliRunner().invoke(main, ["label", "link", labels[0], GTINS[1]])
    assert moved.exit_code != 0 and "--relink" in moved.output
    moved = CliRunner().invoke(main, ["label", "link", labels[0], GTINS[1], "--relink"])
    assert moved.exit_code == 0, moved.output
    unlinked = CliRunner().invoke(main, ["label", "unlink", labels[0]])
    assert unlinked.exit_code == 0
    with Session(engine) as s:
        assert [e.action for e in audit.recent(s)] == ["label.unlink", "label.link", "label.link"]


def test_a_row_whose_template_does_not_fit_its_label_is_refused_alone(
    engine, settings, labels, tmp_path
):
    own = replace(settings, templates_dir=own_templates_dir(tmp_path))
    data = f"{labels[0]};{GTINS[0]};{POSTER_ONLY}\n{labels[1]};{GTINS[1]};promo\n".encode()
    with Session(engine, expire_on_commit=False) as s:
        report = link_import.import_links(s, own, data, actor="bob")
    assert report.linked == 1
    (refused,) = report.errors
    assert refused.line == 1 and refused.error == (
        f"the {POSTER_ONLY} layout does not fit a 2.9-inch label (296x128 pixels); "
        f"choose one that does: {FITS_2_9}"
    )
    with Session(engine) as s:
        assert s.get(Label, labels[0]).product_id is None
        assert s.get(Label, labels[1]).template == "promo"


def test_the_cli_link_refuses_a_template_that_does_not_fit(
    engine, settings, labels, tmp_path, monkeypatch
):
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ESL_STORE_ID", settings.store_id)
    monkeypatch.setenv("ESL_TEMPLATES_DIR", str(own_templates_dir(tmp_path)))
    refused = CliRunner().invoke(
        main, ["label", "link", labels[0], GTINS[0], "--template", POSTER_ONLY]
    )
    assert refused.exit_code == 1
    assert f"the {POSTER_ONLY} layout does not fit a 2.9-inch label" in refused.output
    assert f"choose one that does: {FITS_2_9}" in refused.output
    unknown = CliRunner().invoke(main, ["label", "link", labels[0], GTINS[0], "--template", "x"])
    assert unknown.exit_code == 1 and "'x' is not a label template here" in unknown.output
    with Session(engine) as s:
        assert s.get(Label, labels[0]).product_id is None
        assert audit.recent(s) == []
