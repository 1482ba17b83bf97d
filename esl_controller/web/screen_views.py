"""The screen page (`/screen`, no login: it pairs itself) and the manager's pairing and
revoking of screens on the Players page."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.models import Player, ScreenHealth, User
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import mailbox
from esl_controller.web import screen_pairing
from esl_controller.web.auth import PLAYER_ROLE, login_required
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.schemas import PlayerCreateSchema
from esl_controller.web.store_scope import current_store_id, require_in_store, store_settings

PLAYER_VERSION = "1.0.0"  # of web/static/screen; the page reports it with every batch
SCREEN_STATIC = "static/screen"
# The dashboard's policy, but a playlist's web items may come from other sites.
SCREEN_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-src 'self' https: http:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

bp = Blueprint("screens", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/screen")
def screen() -> Any:
    """The player page. Any modern browser that opens it becomes a screen once paired."""
    response = current_app.make_response(render_template("screen.html", version=PLAYER_VERSION))
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = SCREEN_CSP
    return response


@bp.get("/screen/sw.js")
def service_worker() -> Any:
    """Served from /screen so its scope can cover the page; never cached by the browser's
    HTTP cache, so a new release takes over at the next load."""
    folder = current_app.root_path + "/" + SCREEN_STATIC
    response = send_from_directory(folder, "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/screen"
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- the manager's side ------------------------------------------------------------------------


def screen_health(session: Session) -> dict[str, dict[str, Any]]:
    """What each browser screen last said about itself, and whether it holds a credential."""
    paired = set(
        session.scalars(
            select(User.username).where(User.role == PLAYER_ROLE, User.api_token_hash.is_not(None))  # type: ignore[union-attr]
        )
    )
    rows = {row.player_id: row.model_dump() for row in session.scalars(select(ScreenHealth))}
    for player in paired:
        rows.setdefault(player, {"player_id": player})
    store = current_store_id()
    for player, row in rows.items():
        row["paired"] = player in paired
        row["thumbnail"] = _thumbnail(session, store, player, row.get("now_playing"))
    return rows


def _thumbnail(session: Session, store: str, player: str, item_id: str | None) -> str | None:
    """The media hash of the image the screen says it shows, from its playlist."""
    if not item_id:
        return None
    row = mailbox.latest_playlist(session, store, player)
    if row is None:
        return None
    try:
        playlist = protocol.parse_playlist_message(row.payload)
    except protocol.SignageProtocolError:
        return None
    for item in playlist.items:
        if item.id == item_id and item.type == "image" and item.media:
            return item.media
    return None


@bp.post("/signage/players/pair")
@login_required
def pair() -> Any:
    form = {key: request.form.get(key, "").strip() for key in ("code", "id", "name", "zone")}
    try:
        args = PlayerCreateSchema().load({k: form[k] for k in ("id", "name", "zone")})
    except ValidationError as exc:
        fields = "; ".join(
            f"{name}: {' '.join(map(str, why))}" for name, why in exc.messages.items()
        )  # type: ignore[union-attr]
        flash(_("Screen not paired: %(reason)s") % {"reason": fields}, "error")
        return redirect(url_for("signage.players"))
    session = get_session()
    try:
        player = screen_pairing.pair(
            session,
            store_settings(),
            form["code"],
            player_id=args["id"],
            zone=args["zone"],
            name=args["name"],
            actor=current_user.username,
            now=utcnow(),
        )
    except screen_pairing.PairingError as exc:
        session.rollback()
        flash(_("Screen not paired: %(reason)s") % {"reason": exc}, "error")
        return redirect(url_for("signage.players"))
    session.commit()
    paired = {"player": player.id}
    flash(
        _("Screen paired with player %(player)s; it starts playing in a few seconds.") % paired,
        "success",
    )
    return redirect(url_for("signage.players"))


@bp.post("/signage/players/<player_id>/revoke")
@login_required
def revoke(player_id: str) -> Any:
    require_in_store(Player, player_id, "player")
    session = get_session()
    if screen_pairing.revoke(session, player_id, actor=current_user.username):
        session.commit()
        flash(
            _("Screen credential of %(player)s revoked; the screen shows a pairing code.")
            % {"player": player_id},
            "success",
        )
    else:
        flash(_("Player %(player)s has no screen credential.") % {"player": player_id}, "error")
    return redirect(url_for("signage.players"))
