"""Pairing and revoking browser screens over the JSON API (the Players page's actions)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify
from marshmallow import Schema, fields, validate

from esl_controller.clock import utcnow
from esl_controller.models import Player
from esl_controller.web import auth, screen_pairing
from esl_controller.web.api import ApiError, api_blueprint, load_body
from esl_controller.web.database import get_session
from esl_controller.web.schemas import PlayerCreateSchema
from esl_controller.web.store_scope import require_in_store, store_settings

bp = api_blueprint("screens_api", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


class PairRequestSchema(PlayerCreateSchema):
    code = fields.String(
        required=True,
        validate=validate.Length(1, 16),
        metadata={"description": "the code the screen at /screen shows"},
    )


class PairedSchema(Schema):
    player = fields.String()
    zone = fields.String()


@bp.post("/players/pair")
@auth.api_auth()
def pair_screen() -> Any:
    """Pair a browser screen.
    ---
    post:
      tags: [signage]
      summary: Give the screen showing a pairing code to a player (registered when new)
      requestBody:
        required: true
        content:
          application/json:
            schema: PairRequestSchema
      responses:
        200:
          description: paired; the screen fetches its credential within seconds
          content:
            application/json:
              schema: PairedSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
    """
    args = load_body(PairRequestSchema())
    session = get_session()
    try:
        player = screen_pairing.pair(
            session,
            store_settings(),
            args["code"],
            player_id=args["id"],
            zone=args["zone"],
            name=args["name"],
            actor=g.api_user.username,
            now=utcnow(),
        )
    except screen_pairing.PairingError as exc:
        session.rollback()
        raise ApiError(400, str(exc)) from None
    session.commit()
    return PairedSchema().dump({"player": player.id, "zone": player.zone_id})


@bp.post("/players/<player_id>/revoke")
@auth.api_auth()
def revoke_screen(player_id: str) -> Any:
    """Revoke a screen's credential.
    ---
    post:
      tags: [signage]
      summary: Take a browser screen's credential away; it goes back to pairing
      parameters:
        - {name: player_id, in: path, required: true, schema: {type: string}}
      responses:
        200:
          description: revoked
        401: Unauthorized
        403: Forbidden
        404:
          description: the player has no screen credential
    """
    require_in_store(Player, player_id, "player")
    session = get_session()
    if not screen_pairing.revoke(session, player_id, actor=g.api_user.username):
        raise ApiError(404, f"player {player_id!r} has no screen credential")
    session.commit()
    return jsonify(revoked=player_id)
