"""`GET /screen/slide/<gtin>`: a product's promo slide as a standalone HTML document.

Screens show it (the browser player embeds it in a frame), so it answers a paired screen's
bearer token of role `player` as well as a logged-in staff user. The words and numbers come
from `signage.slide_content`, built from the same `LabelContent` as the product's shelf label,
so a screen and the shelf never disagree. Text, laid out in viewport units by
`static/screen/slide.css`, in the label's bundled fonts: as crisp at 4K as at 1080p.

A GTIN that names no product on sale here (unknown, delisted, or not a valid GTIN) answers 404
with an empty slide, which a screen can show for the moment it takes to skip the item: it
states no price, so it cannot state a wrong one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, make_response, render_template, request, send_file
from werkzeug.exceptions import NotFound

from esl_controller.catalogue.gtin import InvalidGTIN, validate_gtin
from esl_controller.clock import utcnow
from esl_controller.labels.content import content_fingerprint
from esl_controller.signage.slide_content import SlideContent, build_slide_content
from esl_controller.signage.slide_store import product_contents
from esl_controller.web.auth import PLAYER_ROLE, STAFF_ROLES, api_auth
from esl_controller.web.database import get_session
from esl_controller.web.store_scope import store_settings

SLIDE_TEMPLATE = "screen_slide"
# As the dashboard's policy, except that the screen page (same origin) may frame the slide.
SLIDE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)
# The label's bundled fonts, so the slide draws every script the label draws.
SLIDE_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed-Bold.ttf")
FONT_CACHE = "public, max-age=86400"
LAYOUT_VERSION = "html-1"  # part of the ETag: bump when the template changes what it shows

bp = Blueprint("screen_slides", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/screen/slide/<gtin>")
@api_auth(roles=(*STAFF_ROLES, PLAYER_ROLE))
def slide(gtin: str) -> Any:
    try:
        gtin = validate_gtin(gtin)
    except InvalidGTIN as exc:
        return _missing(f"not a valid GTIN: {exc}")
    settings = store_settings()
    content = product_contents(get_session(), settings.store_id, [gtin], utcnow()).get(gtin)
    if content is None:
        return _missing(f"no product {gtin} on sale in this store")
    slide_content = build_slide_content(content)
    html = render_template(
        f"{SLIDE_TEMPLATE}.html", slide=slide_content, price_size=price_size(slide_content)
    )
    response = make_response(html)
    # A price can change at any moment: the screen revalidates, and an unchanged slide costs
    # a 304 (the ETag is the label content's fingerprint).
    response.set_etag(content_fingerprint(content, SLIDE_TEMPLATE, LAYOUT_VERSION))
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = SLIDE_CSP
    return response.make_conditional(request)


@bp.get("/screen/slide/fonts/<name>")
def font(name: str) -> Any:
    if name not in SLIDE_FONTS:
        raise NotFound(f"no slide font {name}; the slide uses {', '.join(SLIDE_FONTS)}")
    path = store_settings().templates_dir / "fonts" / name
    response = send_file(path.resolve(), mimetype="font/ttf", conditional=True)
    response.headers["Cache-Control"] = FONT_CACHE
    return response


def price_size(slide: SlideContent) -> str:
    """The price's size class: its integer digits are set big, so more of them set smaller."""
    major = len(slide.price.parts.major)  # with its group separators: "20.000" is 6
    if major <= 2:
        return "price--short"
    if major <= 5:
        return "price--medium"
    return "price--long" if major <= 9 else "price--huge"


def _missing(reason: str) -> Any:
    response = make_response(render_template(f"{SLIDE_TEMPLATE}.html", slide=None, reason=reason))
    response.status_code = 404
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = SLIDE_CSP
    return response
