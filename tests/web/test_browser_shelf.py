"""Linking labels from the shelf page on a phone, and importing links, in a real chromium."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from esl_controller.db import session_scope
from esl_controller.models import Label, Product
from tests.support.camera_frames import shelf_frame, write_y4m
from tests.web.conftest import SCREENSHOT_DIR, browser_log_in

pytestmark = pytest.mark.browser

GTINS = ("5901234123457", "4006381333931", "9780201379624")
# A stand-in for the barcode detector of Chrome on Android: whatever the camera films, it
# "sees" a product's GS1 Digital Link QR beside the label's code, and the product's EAN-13.
FAKE_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["ean_13", "ean_8", "upc_a", "code_128", "qr_code"]; }
  constructor({ formats }) { this.formats = formats; }
  async detect() {
    if (this.formats.includes("ean_13")) return [{ rawValue: "4006381333931", format: "ean_13" }];
    return [
      { rawValue: "https://id.gs1.org/01/04006381333931", format: "qr_code" },
      { rawValue: " SHELF-01 ", format: "code_128" },
    ];
  }
};
"""
# Safari on iOS before 17 and Firefox: no detector at all.
NO_DETECTOR = "delete window.BarcodeDetector;"
VENDORED_DECODER = "/static/vendor/zxing-library-"


@pytest.fixture
def new_labels(engine, settings) -> list[str]:
    ids = [f"SHELF-{n:02d}" for n in range(10)]
    with session_scope(engine) as s:
        for label_id in ids:
            s.add(
                Label(
                    id=label_id, store_id=settings.store_id, model="2.9-bwr", base_station_id="bs-1"
                )
            )
    return ids


def _scroll_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def test_staff_link_ten_labels_from_the_phone_page(phone_page, engine, new_labels):
    from playwright.sync_api import expect

    page = phone_page
    browser_log_in(page)
    page.goto("/")
    expect(page.locator("[data-field='labels.new']")).to_have_text("11")
    page.goto("/shelf")
    # this chromium has no camera: the page says so and stays a typed form
    expect(page.locator("#shelf-form")).to_have_attribute("data-camera", "off")
    expect(page.locator("#camera-note")).to_be_visible()
    expect(page.locator("button.scan").first).to_be_hidden()
    for n, label_id in enumerate(new_labels):
        page.fill("#shelf-label", label_id)
        page.press("#shelf-label", "Enter")  # a scanner's Enter moves on to the product
        expect(page.locator("#shelf-gtin")).to_be_focused()
        page.fill("#shelf-gtin", GTINS[n % 3])
        page.click("#shelf-submit")
        expect(page.locator(".flash-success")).to_contain_text(f"Label {label_id} now shows")
        assert _scroll_width(page) <= 375
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-shelf-phone.png"), full_page=True)
    with Session(engine) as s:
        linked = [s.get(Label, label_id) for label_id in new_labels]
    assert all(label.product_id and label.template == "auto" for label in linked)
    assert page.console_errors == []


def test_the_shelf_page_explains_errors_and_confirms_a_relink(phone_page, engine, new_labels):
    from playwright.sync_api import expect

    page = phone_page
    browser_log_in(page)
    page.goto("/shelf")
    page.fill("#shelf-label", "NO-SUCH")
    page.fill("#shelf-gtin", GTINS[0])
    page.click("#shelf-submit")
    expect(page.locator("#shelf-error")).to_contain_text("Label NO-SUCH is not known here")
    page.fill("#shelf-label", new_labels[0])
    page.fill("#shelf-gtin", "5901234123458")
    page.click("#shelf-submit")
    expect(page.locator("#shelf-error")).to_contain_text("check digit is 8, expected 7")
    page.fill("#shelf-gtin", GTINS[0])
    page.click("#shelf-submit")
    expect(page.locator(".flash-success")).to_be_visible()
    page.fill("#shelf-label", new_labels[0])
    page.fill("#shelf-gtin", GTINS[1])
    page.click("#shelf-submit")
    expect(page.locator("#shelf-confirm")).to_contain_text("already shows Cașcaval Dalia")
    assert _scroll_width(page) <= 375
    page.click("#shelf-relink")
    expect(page.locator(".flash-success")).to_contain_text("now shows Grüner Tee")
    # the refusals answer 404/409/422, which chromium logs; nothing else may be logged
    others = [e for e in page.console_errors if not e.startswith("Failed to load resource")]
    assert others == []


def test_a_browser_with_a_barcode_detector_reads_with_it_and_loads_no_decoder(
    camera_phone, tmp_path, new_labels
):
    from playwright.sync_api import expect

    frame = shelf_frame(new_labels[1], GTINS[1], "Grüner Tee")
    page = camera_phone(write_y4m(tmp_path / "shelf.y4m", frame))
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.add_init_script(FAKE_DETECTOR)
    browser_log_in(page)
    page.goto("/shelf")
    expect(page.locator("#shelf-form")).to_have_attribute("data-camera", "on")
    expect(page.locator("#shelf-form")).to_have_attribute("data-decoder", "native")
    expect(page.locator("button.scan")).to_have_count(2)
    expect(page.locator("button.scan").first).to_be_visible()
    expect(page.locator("#camera-note")).to_be_hidden()
    page.click("button.scan[data-target=shelf-label]")
    expect(page.locator("#shelf-label")).to_have_value("SHELF-01")  # not the product's QR
    page.click("button.scan[data-target=shelf-gtin]")
    expect(page.locator("#shelf-gtin")).to_have_value(GTINS[1])
    assert not [url for url in fetched if VENDORED_DECODER in url]


def test_a_phone_without_a_barcode_detector_scans_both_codes_with_the_camera(
    camera_phone, engine, tmp_path, new_labels
):
    from playwright.sync_api import expect

    label_id, gtin = new_labels[7], GTINS[1]
    # The label's Code 128 and a price label with the product's EAN-13, both in view.
    frame = shelf_frame(label_id, gtin, "Grüner Tee")
    page = camera_phone(write_y4m(tmp_path / "shelf.y4m", frame))
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.add_init_script(NO_DETECTOR)
    browser_log_in(page)
    page.goto("/shelf")
    expect(page.locator("#shelf-form")).to_have_attribute("data-decoder", "zxing")
    page.click("button.scan[data-target=shelf-label]")
    expect(page.locator("#shelf-label")).to_have_value(label_id)
    expect(page.locator("#shelf-gtin")).to_be_focused()
    expect(page.locator("#shelf-camera")).to_be_hidden()  # the camera is let go
    page.click("button.scan[data-target=shelf-gtin]")
    expect(page.locator("#shelf-gtin")).to_have_value(gtin)
    expect(page.locator("#shelf-submit")).to_be_focused()
    page.click("#shelf-submit")
    expect(page.locator(".flash-success")).to_contain_text(f"Label {label_id} now shows Grüner Tee")
    with Session(engine) as s:
        product = s.get(Product, s.get(Label, label_id).product_id)
    assert product.gtin == gtin
    assert [url for url in fetched if VENDORED_DECODER in url]
    assert page.console_errors == []  # the strict CSP let the decoder run


def test_a_links_csv_with_three_bad_rows_is_imported_from_the_dashboard(
    page, engine, new_labels, tmp_path
):
    from playwright.sync_api import expect

    rows = [f"{label_id};{GTINS[n % 3]};price" for n, label_id in enumerate(new_labels[:5])]
    rows += ["GHOST-1;5901234123457", f"{new_labels[5]};5901234123458", f"{new_labels[6]};x;y;z"]
    path = tmp_path / "links.csv"
    path.write_text("\ufeffLabel;GTIN;Template\n" + "\n".join(rows) + "\n", encoding="utf-8")
    browser_log_in(page)
    page.goto("/labels")
    page.click("text=Import links (CSV)")
    page.set_input_files("#import-file", str(path))
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-summary")).to_have_text("Linked 5 of 8 rows; 3 refused")
    refused = page.locator("#import-report tr.refused")
    expect(refused).to_have_count(3)
    expect(refused.nth(0)).to_contain_text("unknown label")
    expect(refused.nth(1)).to_contain_text("check digit")
    expect(refused.nth(2)).to_contain_text("expected 2 or 3 columns")
    page.screenshot(path=str(SCREENSHOT_DIR / "esl-label-import.png"), full_page=True)
    with Session(engine) as s:
        assert all(s.get(Label, label_id).product_id for label_id in new_labels[:5])
        assert s.get(Label, new_labels[5]).product_id is None
