"""The signage part of the JSON API under /api/v1: players, playlists, media, advertisers,
campaigns and creatives, manual overrides, and the trigger log and intake.

Same conventions as `api.py`: each docstring carries its OpenAPI operation; the web
process only writes rows (and playlist files) and the worker publishes.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, request

from esl_controller.clock import utcnow
from esl_controller.models import Override, Player
from esl_controller.signage.media import MediaError, store_media
from esl_controller.signage.playlists import PlaylistError
from esl_controller.web import auth, queries, signage_actions
from esl_controller.web.api import ApiError, api_blueprint, load_body, load_query
from esl_controller.web.database import get_session
from esl_controller.web.request_limits import UploadTooLarge, parses_its_own_body, read_upload
from esl_controller.web.schemas import (
    AdvertiserCreateSchema,
    AdvertiserListSchema,
    AdvertiserSchema,
    CampaignInputSchema,
    CampaignListSchema,
    CampaignSchema,
    CampaignStatusSchema,
    CreativeInputSchema,
    CreativeSchema,
    MediaAssetListSchema,
    MediaAssetSchema,
    OverrideCreateSchema,
    OverrideRowSchema,
    PlayerCreateSchema,
    PlayerListSchema,
    PlayerSchema,
    PlaylistDetailSchema,
    PlaylistListSchema,
    PlaylistTextSchema,
    TriggerAcceptedSchema,
    TriggerPageSchema,
    TriggerQuerySchema,
    TriggerRefusedSchema,
)
from esl_controller.web.store_scope import current_store_id, require_in_store, store_settings
from esl_controller.web.trigger_intake import (
    NotASensorAccount,
    TriggerRateLimited,
    TriggerRefused,
    read_body,
    receive_trigger,
)

bp = api_blueprint("signage_api", __name__)

TRIGGER_POSTERS = (auth.SENSOR_ROLE, "admin")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.errorhandler(signage_actions.SignageInputError)
def unusable_input(error: signage_actions.SignageInputError) -> tuple[Response, int]:
    conflicts = (signage_actions.DuplicateError, signage_actions.ConflictError)
    status = 409 if isinstance(error, conflicts) else 422
    return jsonify(error=str(error), errors={error.field: [error.message]}), status


def not_found(action: Any) -> Any:
    try:
        return action()
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "not found") from exc


# --- players ---------------------------------------------------------------------------


@bp.get("/players")
@auth.api_auth()
def list_players() -> Any:
    """Signage players.
    ---
    get:
      tags: [signage]
      summary: Players by zone with online state, now playing, last proof of play, override
      responses:
        200:
          description: the players (archived ones only with ?archived=1)
          content:
            application/json:
              schema: PlayerListSchema
        401: Unauthorized
    """
    include_archived = request.args.get("archived") in ("1", "true")
    items = queries.list_players(
        get_session(), include_archived=include_archived, store_id=current_store_id()
    )
    return PlayerListSchema().dump({"items": items})


@bp.post("/players")
@auth.api_auth()
def register_player() -> Any:
    """Register a player.
    ---
    post:
      tags: [signage]
      summary: Register a player in a zone (the zone is created when new)
      requestBody:
        required: true
        content:
          application/json:
            schema: PlayerCreateSchema
      responses:
        201:
          description: registered
          content:
            application/json:
              schema: PlayerSchema
        400: BadRequest
        401: Unauthorized
        409:
          description: the player id is taken
          content:
            application/json:
              schema: ErrorSchema
    """
    args = load_body(PlayerCreateSchema())
    session = get_session()
    player = signage_actions.register_player(
        session, store_settings(), args["id"], args["name"], args["zone"]
    )
    session.commit()
    return PlayerSchema().dump(_player_body(player.id)), 201


@bp.post("/players/<player_id>/archive")
@auth.api_auth()
def archive_player(player_id: str) -> Any:
    """Archive a player (never deleted: proof of play keeps it).
    ---
    post:
      tags: [signage]
      summary: Archive a player; it leaves the schedule
      parameters:
        - in: path
          name: player_id
          required: true
          schema: {type: string}
      responses:
        200:
          description: archived
          content:
            application/json:
              schema: PlayerSchema
        401: Unauthorized
        404: NotFound
    """
    require_in_store(Player, player_id, "player")
    session = get_session()
    not_found(lambda: signage_actions.archive_player(session, player_id))
    session.commit()
    return PlayerSchema().dump(_player_body(player_id))


def _player_body(player_id: str) -> dict[str, Any]:
    rows = queries.list_players(get_session(), include_archived=True, store_id=current_store_id())
    return next(row for row in rows if row["id"] == player_id)


# --- playlists and media ----------------------------------------------------------------


@bp.get("/playlists")
@auth.api_auth()
def list_playlists() -> Any:
    """Playlist files and their load status.
    ---
    get:
      tags: [signage]
      summary: Every playlist file with its status (ok, or the last error with file and line)
      responses:
        200:
          description: the playlists
          content:
            application/json:
              schema: PlaylistListSchema
        401: Unauthorized
    """
    names = signage_actions.playlist_names(store_settings())
    return PlaylistListSchema().dump({"items": queries.list_playlists(get_session(), names)})


@bp.get("/playlists/<name>")
@auth.api_auth()
def get_playlist(name: str) -> Any:
    """One playlist's YAML and status.
    ---
    get:
      tags: [signage]
      summary: A playlist file's text and status
      parameters:
        - PlaylistName
      responses:
        200:
          description: the playlist
          content:
            application/json:
              schema: PlaylistDetailSchema
        401: Unauthorized
        404: NotFound
        422: BadName
    """
    return PlaylistDetailSchema().dump(_playlist_body(name))


@bp.put("/playlists/<name>")
@auth.api_auth()
def put_playlist(name: str) -> Any:
    """Replace (or create) a playlist file; refused text leaves the file as it was.
    ---
    put:
      tags: [signage]
      summary: Validate and write a playlist's YAML
      parameters:
        - PlaylistName
      requestBody:
        required: true
        content:
          application/json:
            schema: PlaylistTextSchema
      responses:
        200:
          description: written; the worker re-publishes affected players
          content:
            application/json:
              schema: PlaylistDetailSchema
        400: BadRequest
        401: Unauthorized
        422:
          description: the YAML is invalid; `error` names file, line and field
          content:
            application/json:
              schema: ErrorSchema
    """
    args = load_body(PlaylistTextSchema())
    session = get_session()
    try:
        signage_actions.save_playlist(
            session, store_settings(), name, args["text"], actor=g.api_user.username
        )
    except PlaylistError as exc:
        session.commit()  # the error stays on the playlist's row for the list page
        raise ApiError(422, str(exc)) from exc
    session.commit()
    return PlaylistDetailSchema().dump(_playlist_body(name))


def _playlist_body(name: str) -> dict[str, Any]:
    settings = store_settings()
    text = signage_actions.read_playlist_text(settings, name)
    row = queries.list_playlists(get_session(), [name] if text is not None else [])
    found = [item for item in row if item["name"] == name]
    if not found:
        raise ApiError(404, f"there is no playlist {name!r}")
    return {**found[0], "text": text}


@bp.get("/media")
@auth.api_auth()
def list_media() -> Any:
    """Uploaded media, newest first.
    ---
    get:
      tags: [signage]
      summary: The last 50 uploaded media files with their sha256 and URL
      responses:
        200:
          description: media
          content:
            application/json:
              schema: MediaAssetListSchema
        401: Unauthorized
    """
    items = queries.list_media(get_session(), store_settings().resolved_media_base_url)
    return MediaAssetListSchema().dump({"items": items})


@bp.post("/media")
@auth.api_auth()
def upload_media() -> Any:
    """Upload an image or video (multipart field `file`), stored by content hash.
    ---
    post:
      tags: [signage]
      summary: Upload media (PNG, JPEG, WebP, MP4, WebM; at most 50 MB); idempotent
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                file: {type: string, format: binary}
      responses:
        201:
          description: stored; reference it by sha256
          content:
            application/json:
              schema: MediaAssetSchema
        400: BadRequest
        401: Unauthorized
        413:
          description: larger than 50 MB
          content:
            application/json:
              schema: ErrorSchema
    """
    asset = upload_from_request(get_session())
    get_session().commit()
    return MediaAssetSchema().dump(
        queries.media_row(asset, store_settings().resolved_media_base_url)
    ), 201


def upload_from_request(session: Any) -> Any:
    """The uploaded `file` field stored as media; ApiError 400 saying what is wrong."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(400, "send the file as multipart/form-data in the field 'file'")
    try:
        data = read_upload(upload.stream)
    except UploadTooLarge as exc:
        raise ApiError(413, str(exc)) from exc
    try:
        return store_media(store_settings(), data, upload.filename, upload.mimetype or "", session)
    except MediaError as exc:
        raise ApiError(400, str(exc)) from exc


# --- advertisers, campaigns, creatives ---------------------------------------------------


@bp.get("/advertisers")
@auth.api_auth()
def list_advertisers() -> Any:
    """Advertisers (ad buyers).
    ---
    get:
      tags: [campaigns]
      summary: Every advertiser
      responses:
        200:
          description: advertisers
          content:
            application/json:
              schema: AdvertiserListSchema
        401: Unauthorized
    """
    return AdvertiserListSchema().dump({"items": queries.list_advertisers(get_session())})


@bp.post("/advertisers")
@auth.api_auth()
def create_advertiser() -> Any:
    """Create an advertiser.
    ---
    post:
      tags: [campaigns]
      summary: Create an advertiser
      requestBody:
        required: true
        content:
          application/json:
            schema: AdvertiserCreateSchema
      responses:
        201:
          description: created
          content:
            application/json:
              schema: AdvertiserSchema
        400: BadRequest
        401: Unauthorized
        409:
          description: the name is taken
          content:
            application/json:
              schema: ErrorSchema
    """
    args = load_body(AdvertiserCreateSchema())
    session = get_session()
    advertiser = signage_actions.create_advertiser(session, args["name"], args["contact_email"])
    session.commit()
    return AdvertiserSchema().dump(advertiser.model_dump()), 201


@bp.get("/campaigns")
@auth.api_auth()
def list_campaigns() -> Any:
    """Campaigns, newest first, with their creatives.
    ---
    get:
      tags: [campaigns]
      summary: Every campaign (archived ones included) with targeting and creatives
      responses:
        200:
          description: campaigns
          content:
            application/json:
              schema: CampaignListSchema
        401: Unauthorized
    """
    return CampaignListSchema().dump({"items": queries.list_campaigns(get_session())})


@bp.post("/campaigns")
@auth.api_auth()
def create_campaign() -> Any:
    """Create a campaign.
    ---
    post:
      tags: [campaigns]
      summary: Create a campaign (flight, CPM, priority, targeting, frequency cap, SOV)
      requestBody:
        required: true
        content:
          application/json:
            schema: CampaignInputSchema
      responses:
        201:
          description: created
          content:
            application/json:
              schema: CampaignSchema
        400: BadRequest
        401: Unauthorized
        422:
          description: the advertiser does not exist
          content:
            application/json:
              schema: ErrorSchema
    """
    values = load_body(CampaignInputSchema())
    session = get_session()
    campaign = signage_actions.save_campaign(session, values, actor=g.api_user.username)
    session.commit()
    return CampaignSchema().dump(queries.campaign_detail(session, campaign.id)), 201


@bp.get("/campaigns/<int:campaign_id>")
@auth.api_auth()
def get_campaign(campaign_id: int) -> Any:
    """One campaign.
    ---
    get:
      tags: [campaigns]
      summary: A campaign with its creatives
      parameters:
        - CampaignId
      responses:
        200:
          description: the campaign
          content:
            application/json:
              schema: CampaignSchema
        401: Unauthorized
        404: NotFound
    """
    detail = queries.campaign_detail(get_session(), campaign_id)
    if detail is None:
        raise ApiError(404, f"there is no campaign #{campaign_id}")
    return CampaignSchema().dump(detail)


@bp.put("/campaigns/<int:campaign_id>")
@auth.api_auth()
def update_campaign(campaign_id: int) -> Any:
    """Edit a campaign (all fields, as when creating).
    ---
    put:
      tags: [campaigns]
      summary: Replace a campaign's settings
      parameters:
        - CampaignId
      requestBody:
        required: true
        content:
          application/json:
            schema: CampaignInputSchema
      responses:
        200:
          description: updated
          content:
            application/json:
              schema: CampaignSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
    """
    values = load_body(CampaignInputSchema())
    session = get_session()
    not_found(
        lambda: signage_actions.save_campaign(
            session, values, campaign_id, actor=g.api_user.username
        )
    )
    session.commit()
    return CampaignSchema().dump(queries.campaign_detail(session, campaign_id))


@bp.post("/campaigns/<int:campaign_id>/status")
@auth.api_auth()
def set_campaign_status(campaign_id: int) -> Any:
    """Pause, resume or archive a campaign (never deleted).
    ---
    post:
      tags: [campaigns]
      summary: Set a campaign's status
      parameters:
        - CampaignId
      requestBody:
        required: true
        content:
          application/json:
            schema: CampaignStatusSchema
      responses:
        200:
          description: the campaign
          content:
            application/json:
              schema: CampaignSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
        422:
          description: an archived campaign cannot come back
          content:
            application/json:
              schema: ErrorSchema
    """
    args = load_body(CampaignStatusSchema())
    session = get_session()
    not_found(lambda: signage_actions.set_campaign_status(session, campaign_id, args["status"]))
    session.commit()
    return CampaignSchema().dump(queries.campaign_detail(session, campaign_id))


@bp.post("/campaigns/<int:campaign_id>/creatives")
@auth.api_auth()
def add_creative(campaign_id: int) -> Any:
    """Add a creative: uploaded media (sha256), a web URL or a product's promo slide.
    ---
    post:
      tags: [campaigns]
      summary: Add a creative to a campaign
      parameters:
        - CampaignId
      requestBody:
        required: true
        content:
          application/json:
            schema: CreativeInputSchema
      responses:
        201:
          description: added
          content:
            application/json:
              schema: CreativeSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
        422:
          description: the media is unknown or of the wrong kind
          content:
            application/json:
              schema: ErrorSchema
    """
    values = load_body(CreativeInputSchema())
    session = get_session()
    creative = not_found(
        lambda: signage_actions.add_creative(session, store_settings(), campaign_id, values)
    )
    session.commit()
    return CreativeSchema().dump(creative.model_dump()), 201


# --- overrides and triggers ---------------------------------------------------------------


def override_body(override: Override) -> dict[str, Any]:
    row = override.model_dump()
    row["content"] = signage_actions.override_content(override)
    return row


@bp.post("/overrides")
@auth.api_auth()
def create_override() -> Any:
    """Push a manual override (announcement, media or promo slide) to a zone.
    ---
    post:
      tags: [signage]
      summary: Manual override for a zone's players, for 5 to 3,600 seconds
      requestBody:
        required: true
        content:
          application/json:
            schema: OverrideCreateSchema
      responses:
        201:
          description: stored; the worker publishes it to the zone's players
          content:
            application/json:
              schema: OverrideRowSchema
        400: BadRequest
        401: Unauthorized
        422:
          description: unknown zone, media or product
          content:
            application/json:
              schema: ErrorSchema
    """
    values = load_body(OverrideCreateSchema())
    session = get_session()
    override = signage_actions.create_manual_override(
        session, store_settings(), values, created_by=g.api_user.username
    )
    session.commit()
    return OverrideRowSchema().dump(override_body(override)), 201


@bp.get("/triggers")
@auth.api_auth()
def list_triggers() -> Any:
    """The trigger log, newest first, with counts by outcome.
    ---
    get:
      tags: [triggers]
      summary: Trigger events (kept for the retention), filtered and paged
      parameters:
        - in: query
          schema: TriggerQuerySchema
      responses:
        200:
          description: one page of trigger events
          content:
            application/json:
              schema: TriggerPageSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(TriggerQuerySchema())
    limit, offset = args.pop("limit"), args.pop("offset")
    session = get_session()
    page = queries.list_trigger_events(
        session, queries.TriggerFilters(**args), limit, offset, current_store_id()
    )
    body = {
        "items": page.items,
        "counts": queries.trigger_counts(session, current_store_id()),
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }
    return TriggerPageSchema().dump(body)


@bp.post("/triggers")
@parses_its_own_body  # parse_trigger's own caps, each refusal recorded
@auth.api_auth(roles=TRIGGER_POSTERS)
def post_trigger() -> Any:
    """A sensor posts a trigger (role sensor; the only call that role may make).
    ---
    post:
      tags: [triggers]
      summary: Send an audience, zone or loyalty trigger; the privacy guard checks it
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              description: >-
                {"type": "audience"|"zone"|"loyalty", "sensor", "zone", "at" (ISO 8601 with
                offset), ...}; anonymous aggregates only: images, MAC/IP addresses, phone
                numbers, e-mails, unknown fields and loyalty without consent are refused
      responses:
        202:
          description: accepted; the worker decides and publishes any override
          content:
            application/json:
              schema: TriggerAcceptedSchema
        401: Unauthorized
        403: Forbidden
        422:
          description: >-
            refused (over 8 KB or too deeply nested, malformed, unknown zone, stale, a sensor
            other than the credential's, or by the privacy guard); the reason names a
            category and at most a schema field, never a value
          content:
            application/json:
              schema: TriggerRefusedSchema
        429:
          description: over the sensor's rate limit (counted across all web processes)
          content:
            application/json:
              schema: ErrorSchema
    """
    session = get_session()
    try:
        event = receive_trigger(
            session, store_settings(), read_body(request.stream), g.api_user.username, utcnow()
        )
    except NotASensorAccount as exc:
        return {"error": str(exc)}, 403
    except TriggerRateLimited as limited:
        retry = str(limited.decision.retry_after_s)
        return {"error": str(limited)}, 429, {"Retry-After": retry}
    except TriggerRefused as refused:
        session.commit()  # the refusal is counted in the trigger log
        body = {
            "error": str(refused.rejected),
            "field": refused.rejected.field,
            "privacy": refused.rejected.privacy,
            "trigger_id": refused.event.id,
        }
        return TriggerRefusedSchema().dump(body), 422
    session.commit()
    return TriggerAcceptedSchema().dump({"id": event.id, "outcome": event.outcome}), 202
