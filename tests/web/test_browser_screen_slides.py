"""The promo slide in a real headless chromium, as a screen opens it with its player token: at
1080p, 4K, portrait and phone sizes every stated price is visible and inside the screen and
its own box, the text scales with the screen, and the strict CSP reports nothing."""

from __future__ import annotations

import pytest

from tests.support.slide_products import SITUATIONS
from tests.web.conftest import SCREENSHOT_DIR, bearer, browser_log_in

pytestmark = pytest.mark.browser

SCREENS = {"1080p": (1920, 1080), "4k": (3840, 2160), "portrait": (1080, 1920), "phone": (375, 667)}
# Any CSP violation, whether or not chromium also logs it to the console.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.cspViolations.push(event.violatedDirective + " " + event.blockedURI));
"""
# Boxes of the slide's stated fields, and of the screen, in CSS pixels.
MEASURE = """
() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  const fields = {};
  for (const el of document.querySelectorAll("[data-field]")) {
    fields[el.dataset.field] = {...box(el), text: el.textContent,
      visible: el.checkVisibility(), clipped: el.scrollWidth > el.clientWidth + 1
        && getComputedStyle(el).display !== "inline"};
  }
  const major = document.querySelector(".price__major");
  return {width: innerWidth, height: innerHeight, fields,
    prices: box(document.querySelector(".prices")), facts: box(document.querySelector(".facts")),
    price: box(document.querySelector("[data-field=price]")),
    priceFontPx: parseFloat(getComputedStyle(major).fontSize),
    loadedFonts: [...document.fonts].filter((f) => f.status === "loaded").length};
}
"""


@pytest.fixture
def screen(browser, live_server, slide_screen_token):
    contexts = []

    def open_slide(name: str, size: str):
        width, height = SCREENS[size]
        context = browser.new_context(
            base_url=live_server,
            viewport={"width": width, "height": height},
            extra_http_headers=bearer(slide_screen_token),
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.add_init_script(WATCH_CSP)
        response = page.goto(f"/screen/slide/{SITUATIONS[name].gtin}")
        assert response.status == 200
        page.evaluate("document.fonts.ready")
        return page

    yield open_slide
    for context in contexts:
        context.close()


def inside(inner: dict, outer: dict, slack: float = 0.5) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["top"] >= outer["top"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def apart(one: dict, other: dict) -> bool:
    return (
        one["right"] <= other["left"]
        or other["right"] <= one["left"]
        or one["bottom"] <= other["top"]
        or other["bottom"] <= one["top"]
    )


def check_layout(page, expected_price: str) -> dict:
    measured = page.evaluate(MEASURE)
    viewport = {"left": 0, "top": 0, "right": measured["width"], "bottom": measured["height"]}
    fields = measured["fields"]
    assert fields["price"]["text"] == expected_price
    for name, field in fields.items():
        assert field["visible"], f"{name} is hidden"
        assert inside(field, viewport), f"{name} leaves the screen: {field}"
        assert not field["clipped"] or name == "name", f"{name} overflows its box: {field}"
    assert inside(measured["price"], measured["prices"])
    assert apart(measured["price"], measured["facts"]), "the price overlaps its facts"
    assert measured["loadedFonts"] >= 2  # the label's bundled fonts, not a fallback
    assert page.evaluate("window.cspViolations") == []
    assert page.console_errors == []
    return measured


@pytest.mark.parametrize("name", ["promo", "long", "no_history", "fake"])
def test_slide_fits_1080p_and_4k_alike(screen, name):
    full_hd = check_layout(screen(name, "1080p"), _price(name))
    page = screen(name, "4k")
    uhd = check_layout(page, _price(name))
    # Viewport units: at 4K every size doubles, so the text is drawn twice as big (not scaled).
    assert uhd["priceFontPx"] == pytest.approx(2 * full_hd["priceFontPx"])
    for field, box in full_hd["fields"].items():
        assert uhd["fields"][field]["top"] == pytest.approx(2 * box["top"], abs=2)
    if name in ("promo", "long"):
        page.screenshot(path=str(SCREENSHOT_DIR / f"esl-slide-{name}-4k.png"))


@pytest.mark.parametrize("size", ["portrait", "phone"])
@pytest.mark.parametrize("name", ["promo", "long"])
def test_slide_fits_portrait_screens_and_phones(screen, name, size):
    page = screen(name, size)
    check_layout(page, _price(name))
    if name == "promo":
        page.screenshot(path=str(SCREENSHOT_DIR / f"esl-slide-{name}-{size}.png"))


def test_promotion_slide_shows_the_reduction_as_the_label_does(screen):
    page = screen("promo", "1080p")
    from playwright.sync_api import expect

    expect(page.locator("[data-field='promo.band']")).to_have_text("PROMOȚIE")
    expect(page.locator("[data-field='promo.was']")).to_have_text("24,99\u00a0lei")
    expect(page.locator("[data-field='promo.prior']")).to_have_text(
        "Cel mai mic preț din ultimele 30 de zile: 24,99\u00a0lei"
    )
    struck = page.locator("[data-field='promo.was']").evaluate(
        "el => getComputedStyle(el).textDecorationLine"
    )
    assert struck == "line-through"


def _price(name: str) -> str:
    situation = SITUATIONS[name]
    minor = situation.promotions[-1][0] if name not in ("fake", "plain") else None
    if name == "fake":
        minor = 1999
    major, cents = divmod(minor, 100)
    grouped = f"{major:,}".replace(",", ".")
    return f"{grouped},{cents:02d}\u00a0lei"


@pytest.fixture
def bare_page(browser, live_server, slide_screen_token):
    """A same-origin page under the dashboard's strict CSP, with no credential of its own."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.add_init_script(WATCH_CSP)
    page.goto("/login")
    yield page
    context.close()


def framed_price(page) -> tuple[str, float]:
    frame = page.frames[1]
    frame.wait_for_selector("[data-field=price]")
    frame.evaluate("document.fonts.ready")
    price = frame.locator("[data-field=price]")
    size = price.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    return price.text_content(), size


def test_a_page_with_a_player_token_shows_the_slide_in_a_srcdoc_frame(
    bare_page, slide_screen_token
):
    # A frame cannot send an Authorization header: the screen fetches the slide with its
    # token and shows the document in srcdoc, where its absolute-path URLs still resolve.
    bare_page.evaluate(
        """async ([url, token]) => {
          const response = await fetch(url, {headers: {Authorization: `Bearer ${token}`}});
          const frame = document.createElement("iframe");
          frame.style.width = "960px";
          frame.style.height = "540px";
          frame.srcdoc = await response.text();
          document.body.append(frame);
        }""",
        [f"/screen/slide/{SITUATIONS['promo'].gtin}", slide_screen_token],
    )
    text, size = framed_price(bare_page)
    assert text == _price("promo")
    assert size == pytest.approx(0.30 * 540, rel=0.02)  # the stylesheet applied: 30vmin
    assert bare_page.frames[1].evaluate("document.fonts.size") >= 2
    assert bare_page.evaluate("window.cspViolations") == []
    assert bare_page.console_errors == []


def test_a_staff_session_may_frame_the_slide_by_its_url(bare_page):
    browser_log_in(bare_page)
    bare_page.evaluate(
        """(url) => {
          const frame = document.createElement("iframe");
          frame.src = url;
          document.body.append(frame);
        }""",
        f"/screen/slide/{SITUATIONS['promo'].gtin}",
    )
    text, _ = framed_price(bare_page)
    assert text == _price("promo")
    assert bare_page.console_errors == []
