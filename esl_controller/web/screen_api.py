"""The browser player's side of its transport (docs/screens.md): what a page at /screen
calls. Pairing needs no login (the page has no credential yet); everything else needs the
page's own player token, so a page streams only its own commands and posts only its own
plays and presence.

Commands reach the page as Server-Sent Events read from the rows the worker's browser
channel writes; what the page posts becomes rows that channel reads. Each open stream holds
one web thread (see `esl-controller web --threads`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlmodel import Session

from esl_controller.clock import utcnow
from esl_controller.incidents import record_incident
from esl_controller.models import Player, ScreenHealth, User
from esl_controller.signage import protocol
from esl_controller.signage.drivers.browser import mailbox
from esl_controller.web import auth, pairing_throttle, screen_pairing
from esl_controller.web.database import get_session
from esl_controller.web.store_scope import current_store_id

STREAM_POLL_S = 0.1  # how often an open stream looks for new commands
KEEPALIVE_S = 5.0  # a comment line, so a vanished page frees its thread soon
CREDENTIAL_CHECK_S = 5.0  # a revoked page is told within this
MAX_ERRORS_PER_POST = 20

bp = Blueprint("screen_api", __name__, url_prefix="/screen/api")
auth.csrf.exempt(bp)  # no cookie is ever used here: pairing secrets and Bearer tokens only


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


class _ScreenApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Throttled(Exception):
    def __init__(self, counted: pairing_throttle.Counted) -> None:
        super().__init__(pairing_throttle.refusal_message(counted))
        self.counted = counted


@bp.errorhandler(_ScreenApiError)
def _api_error(error: _ScreenApiError) -> Any:
    return jsonify(error=error.message), error.status


@bp.errorhandler(_Throttled)
def _throttled(error: _Throttled) -> Any:
    response = jsonify(error=str(error))
    response.status_code = 429
    response.headers["Retry-After"] = str(error.counted.retry_after_s)
    return response


@bp.errorhandler(ValidationError)
def _invalid(error: ValidationError) -> Any:
    return jsonify(error="invalid request", fields=error.messages), 400


def _refuse_other_player(claimed: object) -> None:
    """A page names only its own player: its credential is for that one screen, so a request
    naming another is refused whole, before anything is read or stored."""
    if claimed is not None and claimed != g.api_user.username:
        raise _ScreenApiError(403, "this credential belongs to another player")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _ScreenApiError(400, "the request body must be a JSON object")
    return body


# --- pairing -------------------------------------------------------------------------------


def _count_pairing_call(call: pairing_throttle.PairingCall) -> pairing_throttle.Counted:
    """Counted before anything is read: over the limit, the request is refused unanswered."""
    engine = current_app.extensions["esl"].engine
    counted = pairing_throttle.begin(engine, call, request.remote_addr or "unknown", utcnow())
    if not counted.allowed:
        raise _Throttled(counted)
    return counted


@bp.post("/pairings")
def new_pairing() -> Any:
    _count_pairing_call(pairing_throttle.PairingCall.NEW)
    session = get_session()
    now = utcnow()
    pairing = screen_pairing.start(session, now)
    session.commit()
    return jsonify(
        code=pairing.code,
        claim=pairing.claim,
        expires_at=pairing.expires_at.isoformat(),
        now=now.isoformat(),  # the page counts the code's lifetime, not its own clock
    ), 201


class ClaimSchema(Schema):
    code = fields.String(load_default="", validate=validate.Length(max=16))
    claim = fields.String(load_default="", validate=validate.Length(max=100))
    link = fields.String(load_default="", validate=validate.Length(max=100))


@bp.post("/pairings/claim")
def claim_pairing() -> Any:
    counted = _count_pairing_call(pairing_throttle.PairingCall.CLAIM)
    args = ClaimSchema().load(_body())
    session = get_session()
    try:
        credential = screen_pairing.claim(session, utcnow(), **args)
    except screen_pairing.PairingError as exc:
        session.rollback()
        raise _ScreenApiError(410, str(exc)) from None
    session.commit()
    # Only a failed claim counts: a page waiting for its pairing polls as long as it likes.
    # (After the commit: on SQLite the claim's own writes would hold the lock.)
    pairing_throttle.take_back(current_app.extensions["esl"].engine, counted)
    if credential is None:
        return jsonify(paired=False), 202
    return jsonify(paired=True, player=credential.player, token=credential.token)


def _store_of_player(session: Session, player_id: str) -> str:
    """A screen belongs to its player's store, whichever store the request names."""
    player = session.get(Player, player_id)
    return player.store_id if player is not None else current_store_id()


# --- the command stream -----------------------------------------------------------------------


def _event(kind: str, data: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return (
        head + f"event: {kind}\n" + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
    )


@bp.get("/events")
@auth.api_auth([auth.PLAYER_ROLE])
def events() -> Response:
    _refuse_other_player(request.args.get("player"))
    player = g.api_user.username
    user_id = g.api_user.id
    engine = current_app.extensions["esl"].engine
    store = _store_of_player(get_session(), player)

    def stream() -> Iterator[str]:
        # The cursor is taken before the playlist is read: a playlist the worker writes in
        # between is then the one sent first or streamed after it, never skipped by both.
        with Session(engine) as session:
            cursor = mailbox.newest_command_id(session)
            playlist = mailbox.latest_playlist(session, store, player)
        sent_first = playlist.id if playlist is not None else None
        yield "retry: 2000\n\n"
        if playlist is not None:
            yield _event(mailbox.PLAYLIST, playlist.payload, playlist.id)
        yield _event("ready", json.dumps({"player": player, "now": utcnow().isoformat()}))
        last_sent = checked = time.monotonic()
        while True:
            time.sleep(STREAM_POLL_S)
            with Session(engine) as session:
                rows = mailbox.commands_after(session, store, player, cursor)
                if time.monotonic() - checked >= CREDENTIAL_CHECK_S:
                    checked = time.monotonic()
                    if not _still_paired(session, user_id):
                        yield _event("revoked", "{}")
                        return
            for row in rows:
                assert row.id is not None
                cursor = row.id
                if row.id == sent_first:
                    continue
                yield _event(row.kind, row.payload, row.id)
                last_sent = time.monotonic()
            if time.monotonic() - last_sent >= KEEPALIVE_S:
                yield f": {utcnow().isoformat()}\n\n"
                last_sent = time.monotonic()

    response = Response(stream(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not hold events back
    return response


def _still_paired(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return user is not None and user.api_token_hash is not None


# --- what the page reports ---------------------------------------------------------------------


class ScreenFactsSchema(Schema):
    """What a page says about itself with every heartbeat and every batch of plays."""

    player = fields.String(load_default=None, validate=validate.Length(max=100))
    version = fields.String(load_default=None, validate=validate.Length(max=40))
    width = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 20000))
    height = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 20000))


class ScreenErrorSchema(Schema):
    item = fields.String(load_default="", validate=validate.Length(max=100))
    reason = fields.String(required=True, validate=validate.Length(1, 300))


class StatusSchema(ScreenFactsSchema):
    state = fields.String(required=True, validate=validate.OneOf(protocol.PLAYER_STATES))
    now_playing = fields.String(load_default=None, validate=validate.Length(max=100))
    override_id = fields.Integer(load_default=None, strict=True)
    cache_items = fields.Integer(load_default=None, strict=True)
    errors = fields.List(
        fields.Nested(ScreenErrorSchema),
        load_default=list,
        validate=validate.Length(max=MAX_ERRORS_PER_POST),
    )


class PlaysSchema(ScreenFactsSchema):
    plays = fields.List(
        fields.Raw(),
        required=True,
        validate=validate.Length(1, protocol.MAX_PLAYS_PER_MESSAGE),
    )


def _health(session: Session, player: str, facts: dict[str, Any]) -> ScreenHealth:
    health = session.get(ScreenHealth, player) or ScreenHealth(player_id=player)
    for key in ("version", "width", "height"):
        if facts.get(key) is not None:
            setattr(health, key, facts[key])
    health.browser = request.headers.get("User-Agent", "")[:300] or health.browser
    return health


@bp.post("/status")
@auth.api_auth([auth.PLAYER_ROLE])
def post_status() -> Any:
    args = StatusSchema().load(_body())
    _refuse_other_player(args["player"])
    player = g.api_user.username
    try:
        status = protocol.PlayerStatus(
            args["state"], args["now_playing"], args["override_id"], args["cache_items"]
        )
        payload = protocol.player_status_payload(status)
    except protocol.SignageProtocolError as exc:
        raise _ScreenApiError(400, str(exc)) from None
    session = get_session()
    now = utcnow()
    mailbox.post_report(session, _store_of_player(session, player), player, mailbox.STATUS, payload)
    health = _health(session, player, args)
    health.heartbeat_at = now
    health.now_playing = status.now_playing
    for error in args["errors"]:
        health.errors += 1
        health.last_error = (
            f"{error['item']}: {error['reason']}" if error["item"] else error["reason"]
        )
        health.last_error_at = now
        record_incident(session, "screen_error", player, health.last_error)
    session.add(health)
    session.commit()
    return jsonify(ok=True, now=now.isoformat())


@bp.post("/plays")
@auth.api_auth([auth.PLAYER_ROLE])
def post_plays() -> Any:
    """Stored for the worker at once (the page may forget them on this answer); the worker
    checks and bills them, idempotent by play id, so a replayed batch changes nothing."""
    args = PlaysSchema().load(_body())
    _refuse_other_player(args["player"])
    for play in args["plays"]:
        if isinstance(play, dict):
            _refuse_other_player(play.get("player"))
    player = g.api_user.username
    session = get_session()
    payload = json.dumps(args["plays"], separators=(",", ":"), ensure_ascii=False).encode()
    mailbox.post_report(session, _store_of_player(session, player), player, mailbox.POP, payload)
    health = _health(session, player, args)
    health.last_play_at = utcnow()
    session.add(health)
    session.commit()
    return jsonify(stored=len(args["plays"]))
