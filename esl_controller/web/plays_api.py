"""Proof of play over HTTP: `POST /api/v1/plays`, for players that cannot hold an MQTT
session (or replay a large offline buffer faster this way).

The same ingest as MQTT (`ads.ingest.PlayIngestor`): idempotent by play id, one transaction
per batch, every refused play reported with its reason and recorded. Plays are billing
data, so they are accepted only from the screen that made them: a token of role "player"
whose user name is the player id, for that player's own plays. Any other credential (an
admin's or a manager's too) is refused with a 403, and the plays it sent are recorded as
refused (`not_a_player`) like any other refused play, so the attempt shows on the screens
it named.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from marshmallow import Schema, fields, validate

from esl_controller.ads.ingest import MAX_BATCH, PlayIngestor
from esl_controller.web import auth
from esl_controller.web.api import ApiError, api_blueprint
from esl_controller.web.database import get_settings

NOT_A_PLAYER_ERROR = (
    "plays are accepted only from the player that made them: post them with that "
    "player's own token (role player, user name = the player id); this token's role is {role}"
)

bp = api_blueprint("plays_api", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


class PlayBatchSchema(Schema):
    """The request: plays in the pop wire shape (docs/protocol.md, "proof of play").

    Each play is checked on its own, so one bad play never refuses the batch."""

    plays = fields.List(
        fields.Raw(metadata={"type": "object"}),
        required=True,
        validate=validate.Length(1, MAX_BATCH),
        metadata={
            "description": "play_id (uuid4), player, item, campaign_id, creative_id, "
            "override_id, trigger_id, started_at and ended_at (ISO-8601 with the player's "
            "local offset)"
        },
    )


class RefusedPlaySchema(Schema):
    play_id = fields.String()
    reason = fields.String(metadata={"description": "code: explanation"})


class FlaggedPlaySchema(Schema):
    play_id = fields.String()
    flag = fields.String()


class PlayIngestResultSchema(Schema):
    accepted = fields.Integer(metadata={"description": "plays stored now"})
    duplicates = fields.Integer(metadata={"description": "plays already stored: not counted"})
    rejected = fields.List(fields.Nested(RefusedPlaySchema))
    flagged = fields.List(
        fields.Nested(FlaggedPlaySchema),
        metadata={"description": "stored and billed once, but overlapping earlier plays"},
    )


@bp.post("/plays")
@auth.api_auth(auth.ROLES)
def post_plays() -> Any:
    """Report a batch of plays.
    ---
    post:
      tags: [proof of play]
      summary: Store proof-of-play records (idempotent by play id); bad plays are reported
      requestBody:
        required: true
        content:
          application/json:
            schema: PlayBatchSchema
      responses:
        200:
          description: what happened to each play (accepted, duplicate or refused)
          content:
            application/json:
              schema: PlayIngestResultSchema
        400: BadRequest
        401: Unauthorized
        403:
          description: >
            the credential is not a player's: nothing is stored, and the plays sent are
            recorded as refused (`not_a_player`)
          content:
            application/json:
              schema: ErrorSchema
    """
    body = request.get_json(silent=True)
    user = g.api_user
    ingestor = PlayIngestor(current_app.extensions["esl"].engine, get_settings())
    if user.role != auth.PLAYER_ROLE:
        error = NOT_A_PLAYER_ERROR.format(role=user.role)
        ingestor.refuse_batch(_sent_plays(body), "http", error)
        raise ApiError(403, error)
    if not isinstance(body, dict):
        raise ApiError(400, 'the request body must be a JSON object {"plays": [...]}')
    plays = PlayBatchSchema().load(body)["plays"]
    result = ingestor.ingest(plays, "http", authenticated_player=user.username)
    return PlayIngestResultSchema().dump(result.as_dict())


def _sent_plays(body: Any) -> list[Any]:
    """The plays a refused request carried, as far as it is shaped like a batch."""
    plays = body.get("plays") if isinstance(body, dict) else None
    return plays[:MAX_BATCH] if isinstance(plays, list) else []
