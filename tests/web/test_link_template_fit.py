"""A template that does not fit the label's panel, refused in plain words on the API, the
label page's link form and the CSV import page; the form offers only what fits."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session

from esl_controller.config import Settings
from esl_controller.models import Label
from tests.support.label_templates import FITS_2_9, POSTER_ONLY, own_templates_dir
from tests.web.conftest import bearer, browser_log_in, csrf_token_from

TEA = "4006381333931"
REFUSAL = (
    f"the {POSTER_ONLY} layout does not fit a 2.9-inch label (296x128 pixels); "
    f"choose one that does: {FITS_2_9}"
)


@pytest.fixture
def settings(settings: Settings, tmp_path) -> Settings:
    """The store's own templates folder: one template has a layout for 7.5" panels only."""
    return replace(settings, templates_dir=own_templates_dir(tmp_path))


def _unbound(engine) -> dict:
    with Session(engine) as s:
        return s.get(Label, "L-UNBOUND").model_dump()


def test_the_api_refuses_a_template_that_does_not_fit_and_changes_nothing(
    client: FlaskClient, seed, engine
):
    before = _unbound(engine)
    answer = client.post(
        "/api/v1/labels/L-UNBOUND/link",
        json={"gtin": TEA, "template": POSTER_ONLY},
        headers=bearer(seed.manager_token),
    )
    assert answer.status_code == 422 and answer.get_json()["error"] == REFUSAL
    assert _unbound(engine) == before


def test_the_label_page_offers_only_the_templates_that_fit(manager_client: FlaskClient):
    html = manager_client.get("/labels/L-UNBOUND").get_data(as_text=True)
    form = html[html.index('id="link-form"') :]
    offered = form[: form.index("</select>")]
    for name in FITS_2_9.split(", "):
        assert f">{name}</option>" in offered
    assert POSTER_ONLY not in offered


def test_the_link_form_refuses_it_and_keeps_the_scanned_codes(manager_client: FlaskClient, engine):
    before = _unbound(engine)
    form = {
        "csrf_token": csrf_token_from(manager_client, "/shelf"),
        "label": "L-UNBOUND",
        "gtin": TEA,
        "template": POSTER_ONLY,
        "back": "label",
    }
    answer = manager_client.post("/shelf", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and REFUSAL in page
    assert f'value="{TEA}"' in page and 'value="L-UNBOUND"' in page
    assert _unbound(engine) == before


def test_the_import_page_lists_the_row_and_links_the_others(manager_client: FlaskClient, engine):
    data = f"L-UNBOUND;{TEA};{POSTER_ONLY}\n".encode()
    token = csrf_token_from(manager_client, "/label-import")
    answer = manager_client.post(
        "/label-import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "links.csv")},
        content_type="multipart/form-data",
    )
    assert REFUSAL in answer.get_data(as_text=True)
    with Session(engine) as s:
        assert s.get(Label, "L-UNBOUND").product_id is None


@pytest.mark.browser
def test_a_label_page_opened_before_the_templates_changed_shows_the_refusal(
    page, engine, settings: Settings
):
    """The form offered the template when it was opened; the link then says what fits."""
    from playwright.sync_api import expect

    browser_log_in(page)
    page.goto("/labels/L-UNBOUND")
    offered = page.locator("#link-form select[name=template] option").all_inner_texts()
    assert offered == FITS_2_9.split(", ")
    # as if the folder had the template when the page was opened
    page.evaluate(
        "name => document.querySelector('#link-form select[name=template]')"
        ".add(new Option(name, name, true, true))",
        POSTER_ONLY,
    )
    page.fill("#link-form input[name=gtin]", TEA)
    page.click("#link-label")
    expect(page.locator("#shelf-error")).to_have_text(REFUSAL + ".")
    expect(page.locator("#shelf-gtin")).to_have_value(TEA)
    assert _unbound(engine)["product_id"] is None
    # the browser logs the refused post's 422 itself; nothing else may fail
    assert [e for e in page.console_errors if "status of 422" not in e] == []
