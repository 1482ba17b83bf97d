"""`GET /screen/slide/<gtin>`: the promo slide's HTML states the shelf label's prices, for a
paired screen's token or a staff login, and harmlessly nothing for a product not on sale."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from flask import Flask, render_template
from hypothesis import HealthCheck, given, settings
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.db import session_scope
from esl_controller.labels.price_format import NBSP, money_text, unit_price_text
from esl_controller.signage.slide_content import build_slide_content
from esl_controller.signage.slide_store import product_contents
from esl_controller.web.auth import create_user, issue_api_token
from esl_controller.web.screen_slides import price_size
from tests.support.price_situations import label_content, price_situations
from tests.support.slide_products import SITUATIONS
from tests.web.conftest import bearer


class FieldText(HTMLParser):
    """The text inside each element that has a data-field attribute, by field name."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._open: list[str | None] = []
        self.inline_style_or_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" or "style" in attributes or tag == "style":
            self.inline_style_or_script = True
        field = attributes.get("data-field")
        self._open.append(field)
        if field:
            self.fields[field] = ""

    def handle_endtag(self, tag):
        self._open.pop()

    def handle_data(self, data):
        for field in self._open:
            if field:
                self.fields[field] += data


def fields_of(html: str) -> dict[str, str]:
    parser = FieldText()
    parser.feed(html)
    assert not parser.inline_style_or_script
    return parser.fields


def get_slide(client, name: str, token: str):
    return client.get(f"/screen/slide/{SITUATIONS[name].gtin}", headers=bearer(token))


def lei(text: str) -> str:
    return f"{text}{NBSP}lei"


def test_promotion_slide_states_price_struck_price_prior_price_and_unit_price(
    client, slide_screen_token
):
    response = get_slide(client, "promo", slide_screen_token)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    fields = fields_of(response.get_data(as_text=True))
    assert fields["price"] == lei("19,99")
    assert fields["promo.band"] == "PROMOȚIE"
    assert fields["promo.was"] == lei("24,99")
    assert fields["promo.prior"] == "Cel mai mic preț din ultimele 30 de zile: " + lei("24,99")
    assert fields["unit_price"] == lei("49,98") + "/kg"
    assert fields["promo.ends"].startswith("până la ")
    assert fields["name"] == "Cașcaval Dalia"
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy


def test_fake_discount_slide_shows_the_price_and_no_reduction(client, slide_screen_token):
    html = get_slide(client, "fake", slide_screen_token).get_data(as_text=True)
    fields = fields_of(html)
    assert fields["price"] == lei("19,99")
    assert not any(field.startswith("promo.") for field in fields)
    assert "PROMO" not in html and "24,99" not in html


def test_progressive_reduction_is_stated_against_the_price_before_its_first_step(
    client, slide_screen_token
):
    fields = fields_of(get_slide(client, "progressive", slide_screen_token).get_data(as_text=True))
    assert fields["price"] == lei("17,99")
    assert fields["promo.was"] == lei("24,99")
    assert fields["promo.prior"] == "Cel mai mic preț din ultimele 30 de zile: " + lei("24,99")


def test_promotion_without_history_says_the_prior_price_is_unknown(client, slide_screen_token):
    fields = fields_of(get_slide(client, "no_history", slide_screen_token).get_data(as_text=True))
    assert fields["price"] == lei("9,99")
    assert fields["promo.prior"] == "Preț anterior indisponibil: istoric 2/30 zile"
    assert fields["stock"] == "Stoc limitat"


def test_plain_price_out_of_stock(client, slide_screen_token):
    fields = fields_of(get_slide(client, "plain", slide_screen_token).get_data(as_text=True))
    assert (fields["price"], fields["stock"]) == (lei("8,99"), "Stoc epuizat")
    assert "promo.band" not in fields


def test_every_slide_states_its_label_prices(client, slide_screen_token, engine, settings):
    gtins = [s.gtin for s in SITUATIONS.values() if s.status == "active"]
    with Session(engine) as session:
        labels = product_contents(session, settings.store_id, gtins, utcnow())
    assert set(labels) == set(gtins)
    for gtin, label in labels.items():
        response = client.get(f"/screen/slide/{gtin}", headers=bearer(slide_screen_token))
        fields = fields_of(response.get_data(as_text=True))
        assert fields["price"] == money_text(label.price, label.locale, NBSP)
        unit = label.unit_price
        assert fields["unit_price"] == unit_price_text(unit.amount, unit.per, label.locale, NBSP)
        assert ("promo.was" in fields) == (label.promo is not None)


@pytest.mark.parametrize(
    "gtin, reason",
    [
        ("4000000000006", "no product 4000000000006"),
        (SITUATIONS["delisted"].gtin, "on sale"),
        ("5940000000012", "not a valid GTIN"),
        ("not-a-gtin", "not a valid GTIN"),
    ],
)
def test_product_not_on_sale_gets_an_empty_slide(client, slide_screen_token, gtin, reason):
    response = client.get(f"/screen/slide/{gtin}", headers=bearer(slide_screen_token))
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'class="slide slide--missing"' in html and reason in html
    assert fields_of(html) == {}  # states no price at all
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]


def test_staff_login_may_see_a_slide(manager_client, slide_screen_token):
    response = manager_client.get(f"/screen/slide/{SITUATIONS['promo'].gtin}")
    assert response.status_code == 200
    assert fields_of(response.get_data(as_text=True))["price"] == lei("19,99")


def test_no_credential_is_refused(client, slide_screen_token):
    response = client.get(f"/screen/slide/{SITUATIONS['promo'].gtin}")
    assert response.status_code == 401
    assert "19,99" not in response.get_data(as_text=True)
    wrong = client.get(f"/screen/slide/{SITUATIONS['promo'].gtin}", headers=bearer("nope"))
    assert wrong.status_code == 401


def test_machine_roles_other_than_player_are_refused(client, engine, slide_screen_token):
    with session_scope(engine) as session:
        create_user(session, "door-sensor", "sensor-password-1", "sensor")
        token = issue_api_token(session, "door-sensor")
    assert get_slide(client, "promo", token).status_code == 403


def test_unchanged_slide_revalidates_with_304(client, slide_screen_token):
    first = get_slide(client, "promo", slide_screen_token)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get(
        f"/screen/slide/{SITUATIONS['promo'].gtin}",
        headers={**bearer(slide_screen_token), "If-None-Match": etag},
    )
    assert again.status_code == 304
    other = get_slide(client, "plain", slide_screen_token)
    assert other.headers["ETag"] != etag


def test_slide_fonts_are_the_label_fonts_and_nothing_else(client):
    response = client.get("/screen/slide/fonts/DejaVuSans-Bold.ttf")
    assert response.status_code == 200 and response.mimetype == "font/ttf"
    assert response.get_data()[:4] == b"\x00\x01\x00\x00"  # a TrueType file
    for name in ("LICENSE-DejaVu.txt", "..%2Fprice.yaml", "secret_key"):
        assert client.get(f"/screen/slide/fonts/{name}").status_code == 404


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(situation=price_situations())
def test_slide_html_states_the_label_prices_in_every_situation(app: Flask, situation):
    label = label_content(situation)
    slide = build_slide_content(label)
    with app.test_request_context():
        html = render_template("screen_slide.html", slide=slide, price_size=price_size(slide))
    fields = fields_of(html)
    assert fields["price"] == money_text(label.price, label.locale, NBSP)
    assert (
        ("promo.band" in fields) == (label.promo is not None) == ('data-field="promo.band"' in html)
    )
    if label.promo is not None:
        assert fields["promo.was"] == money_text(label.promo.was, label.locale, NBSP)
        if label.promo.prior_lowest is not None:
            prior = money_text(label.promo.prior_lowest, label.locale, NBSP)
            assert fields["promo.prior"].endswith(prior)
        else:
            assert fields["promo.prior"] == label.promo.prior_note
