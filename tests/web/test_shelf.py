"""New labels on the dashboard, the shelf page's link flow and the CSV import page."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from esl_controller import audit
from esl_controller.models import Label
from tests.web.conftest import bearer, csrf_token_from

TEA = "4006381333931"
CHEESE = "5901234123457"


def _link(client: FlaskClient, **form: str):
    form["csrf_token"] = csrf_token_from(client, "/shelf")
    return client.post("/shelf", data=form)


def test_a_reported_unknown_label_shows_as_new(manager_client: FlaskClient, seed):
    html = manager_client.get("/labels?new=1").get_data(as_text=True)
    assert 'href="/labels/L-UNBOUND"' in html and 'href="/labels/L-ACKED"' not in html
    assert 'badge state-new">new<' in html
    overview = manager_client.get("/").get_data(as_text=True)
    assert 'data-field="labels.new">1<' in overview
    summary = manager_client.get("/api/v1/summary", headers=bearer(seed.manager_token))
    assert summary.get_json()["labels"]["new"] == 1


def test_linking_from_the_shelf_page_and_the_label_is_no_longer_new(
    manager_client: FlaskClient, engine
):
    answer = _link(manager_client, label="L-UNBOUND", gtin=TEA)
    assert answer.status_code == 302
    page = manager_client.get("/shelf").get_data(as_text=True)
    assert "Label L-UNBOUND now shows Grüner Tee" in page
    with Session(engine) as s:
        label = s.get(Label, "L-UNBOUND")
        assert label.template == "auto" and label.state == "pending"
        assert audit.recent(s)[0].actor == "bob"
    assert manager_client.get("/api/v1/labels?new=true").get_json()["total"] == 0


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"label": "NOPE", "gtin": TEA}, 404, "Label NOPE is not known here"),
        ({"label": "L-UNBOUND", "gtin": "4006381333932"}, 422, "check digit is 2, expected 1"),
        ({"label": "L-UNBOUND", "gtin": "5940000000998"}, 422, "no product with barcode"),
        ({"label": "L-UNBOUND", "gtin": ""}, 422, "Scan or type both"),
    ],
)
def test_the_shelf_page_explains_what_is_wrong(manager_client, engine, form, status, says):
    answer = _link(manager_client, **form)
    assert answer.status_code == status
    assert says in answer.get_data(as_text=True)
    with Session(engine) as s:
        assert s.get(Label, "L-UNBOUND").product_id is None


def test_a_linked_label_is_moved_only_after_confirmation(manager_client, engine):
    answer = _link(manager_client, label="L-ACKED", gtin=TEA)
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "already shows" in html and 'name="relink" value="1"' in html
    with Session(engine) as s:
        assert s.get(Label, "L-ACKED").product_id == 1
    assert _link(manager_client, label="L-ACKED", gtin=TEA, relink="1").status_code == 302
    with Session(engine) as s:
        assert s.get(Label, "L-ACKED").product_id == 2


def _upload(client: FlaskClient, data: bytes):
    token = csrf_token_from(client, "/label-import")
    return client.post(
        "/label-import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "links.csv")},
        content_type="multipart/form-data",
    )


def test_the_import_page_links_good_rows_and_reports_bad_ones(manager_client, engine):
    data = f"label;gtin\nL-UNBOUND;{TEA}\nNOPE;{TEA}\nL-ACKED;{TEA}\n".encode()
    answer = _upload(manager_client, data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Linked 1 of 3 rows; 2 refused" in html
    assert "unknown label" in html and "already shows" in html
    with Session(engine) as s:
        assert s.get(Label, "L-UNBOUND").product_id == 2


def test_an_unreadable_file_is_refused_whole(manager_client):
    answer = _upload(manager_client, "L-UNBOUND;4006381333931;Brânză\n".encode("cp1250"))
    assert answer.status_code == 422 and "not UTF-8" in answer.get_data(as_text=True)


def test_the_import_api_reports_each_row(client, seed, engine):
    answer = client.post(
        "/api/v1/labels/import",
        data=f"L-UNBOUND,{CHEESE}\nL-NONE,{CHEESE},price\n".encode(),
        headers={**bearer(seed.manager_token), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["linked"], body["refused"]) == (1, 1)
    assert body["rows"][1]["line"] == 2 and "unknown label" in body["rows"][1]["error"]


def test_the_label_page_links_with_a_template_and_unlinks(manager_client, engine):
    html = manager_client.get("/labels/L-UNBOUND").get_data(as_text=True)
    assert 'id="link-form"' in html and "<option selected>price</option>" in html
    answer = _link(manager_client, label="L-UNBOUND", gtin=TEA, template="promo", back="label")
    assert answer.status_code == 302 and answer.location.endswith("/labels/L-UNBOUND")
    with Session(engine) as s:
        assert s.get(Label, "L-UNBOUND").template == "promo"
    refused = _link(manager_client, label="L-UNBOUND", gtin=TEA, template="poster", back="label")
    assert refused.status_code == 422
    assert "&#39;poster&#39; is not a label template here" in refused.get_data(as_text=True)
    token = csrf_token_from(manager_client, "/labels/L-UNBOUND")
    answer = manager_client.post("/shelf/L-UNBOUND/unlink", data={"csrf_token": token})
    assert answer.status_code == 302
    with Session(engine) as s:
        assert s.get(Label, "L-UNBOUND").state == "unbound"
        assert [e.action for e in audit.recent(s)][:2] == ["label.unlink", "label.link"]


def test_the_shelf_page_can_start_with_a_label(manager_client):
    html = manager_client.get("/shelf?label=L-UNBOUND").get_data(as_text=True)
    assert 'value="L-UNBOUND"' in html
