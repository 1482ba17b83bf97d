"""The manager's signage pages: players, playlists (with the YAML editor and media upload),
campaigns with creatives, the trigger log and the manual override form.

Forms are checked by the same schemas as the API (`schemas.py`) and write through
`signage_actions`, so a page and its API call can never disagree on what is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from esl_controller.signage.media import MediaError, store_media
from esl_controller.signage.playlists import PlaylistError
from esl_controller.signage.targeting import AGE_BANDS, GENDERS
from esl_controller.web import queries, signage_actions
from esl_controller.web.auth import login_required
from esl_controller.web.dashboard import load_filters
from esl_controller.web.database import get_session, get_settings
from esl_controller.web.request_limits import UploadTooLarge, read_upload
from esl_controller.web.schemas import (
    TRIGGER_KINDS,
    TRIGGER_OUTCOMES,
    AdvertiserCreateSchema,
    CampaignInputSchema,
    CreativeInputSchema,
    OverrideCreateSchema,
    PlayerCreateSchema,
    TriggerQuerySchema,
)
from esl_controller.web.screen_views import screen_health

TRIGGERS_PER_PAGE = 50
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NEW_PLAYLIST_TEXT = """title: New playlist
priority: 10
targets: {zones: [entrance]}
items:
  - {id: news, type: web, url: "https://example.org/board", duration: 20}
"""

bp = Blueprint("signage", __name__, url_prefix="/signage")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def load_form(schema: Schema, values: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The schema's result, or None and one line naming each bad field."""
    try:
        return schema.load(values), ""
    except ValidationError as exc:
        return None, "; ".join(
            f"{name}: {_flat(messages)}" for name, messages in exc.messages.items()
        )


def _flat(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in messages.items())
    if isinstance(messages, list):
        return " ".join(str(message) for message in messages)
    return str(messages)


def _number(text: str) -> int | float | str | None:
    """Form text as a number when it is one, None when blank, else the text to reject."""
    text = text.strip()
    if not text:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# --- players ---------------------------------------------------------------------------


@bp.get("/players")
@login_required
def players() -> str:
    session = get_session()
    rows = queries.list_players(session, include_archived=request.args.get("archived") == "1")
    by_zone: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_zone.setdefault(row["zone_id"], []).append(row)
    return render_template(
        "signage_players.html",
        by_zone=by_zone,
        zones=queries.list_zones(session),
        screens=screen_health(session),
    )


@bp.post("/players")
@login_required
def register_player() -> Any:
    form = {key: request.form.get(key, "").strip() for key in ("id", "name", "zone")}
    args, error = load_form(PlayerCreateSchema(), form)
    if args is None:
        flash(f"Player not registered: {error}", "error")
        return redirect(url_for("signage.players"))
    session = get_session()
    try:
        signage_actions.register_player(
            session, get_settings(), args["id"], args["name"], args["zone"]
        )
    except signage_actions.SignageInputError as exc:
        flash(f"Player not registered: {exc}", "error")
        return redirect(url_for("signage.players"))
    session.commit()
    flash(f"Player {args['id']} registered in zone {args['zone']}.", "success")
    return redirect(url_for("signage.players"))


@bp.post("/players/<player_id>/archive")
@login_required
def archive_player(player_id: str) -> Any:
    session = get_session()
    try:
        signage_actions.archive_player(session, player_id)
    except LookupError:
        raise NotFound(f"There is no player {player_id!r}.") from None
    session.commit()
    flash(f"Player {player_id} archived.", "success")
    return redirect(url_for("signage.players"))


# --- playlists and media -----------------------------------------------------------------


@bp.get("/playlists")
@login_required
def playlists() -> str:
    settings = get_settings()
    session = get_session()
    return render_template(
        "signage_playlists.html",
        playlists=queries.list_playlists(session, signage_actions.playlist_names(settings)),
        media=queries.list_media(session, settings.resolved_media_base_url),
    )


@bp.post("/playlists")
@login_required
def new_playlist() -> Any:
    name = request.form.get("name", "").strip()
    try:
        signage_actions.playlist_path(get_settings(), name)
    except signage_actions.SignageInputError as exc:
        flash(f"Not created: {exc}", "error")
        return redirect(url_for("signage.playlists"))
    return redirect(url_for("signage.playlist", name=name))


@bp.route("/playlists/<name>", methods=["GET", "POST"])
@login_required
def playlist(name: str) -> Any:
    settings = get_settings()
    try:
        saved_text = signage_actions.read_playlist_text(settings, name)
    except signage_actions.SignageInputError:
        raise NotFound(f"{name!r} is not a playlist name.") from None
    session = get_session()
    error = None
    text = saved_text if saved_text is not None else NEW_PLAYLIST_TEXT
    if request.method == "POST":
        text = request.form.get("text", "").replace("\r\n", "\n")
        try:
            signage_actions.save_playlist(session, settings, name, text)
        except PlaylistError as exc:
            error = str(exc)
        session.commit()
        if error is None:
            flash(f"Playlist {name} saved; the worker re-publishes it.", "success")
            return redirect(url_for("signage.playlist", name=name))
    summary = queries.list_playlists(session, [name] if saved_text is not None else [])
    status = next((row for row in summary if row["name"] == name), None)
    return render_template(
        "signage_playlist.html",
        name=name,
        text=text,
        error=error,
        status=status,
        exists=saved_text is not None,
        source=signage_actions.playlist_source(name),
    ), (422 if error else 200)


@bp.post("/media")
@login_required
def upload_media() -> Any:
    upload = request.files.get("file")
    back = request.form.get("back") or url_for("signage.playlists")
    if not back.startswith("/signage/"):
        back = url_for("signage.playlists")
    if upload is None or not upload.filename:
        flash("Choose a file to upload.", "error")
        return redirect(back)
    session = get_session()
    try:
        asset = store_media(
            get_settings(),
            read_upload(upload.stream),
            upload.filename,
            upload.mimetype or "",
            session,
        )
    except (MediaError, UploadTooLarge) as exc:
        flash(f"Not uploaded: {exc}", "error")
        return redirect(back)
    session.commit()
    flash(f"Uploaded {asset.filename}: media {asset.sha256}", "success")
    return redirect(back)


# --- campaigns -------------------------------------------------------------------------


@bp.get("/campaigns")
@login_required
def campaigns() -> str:
    session = get_session()
    return render_template(
        "signage_campaigns.html",
        campaigns=queries.list_campaigns(session),
        advertisers=queries.list_advertisers(session),
        **_campaign_form_context(session, None),
    )


@bp.post("/advertisers")
@login_required
def create_advertiser() -> Any:
    form = {
        key: request.form.get(key, "").strip()
        for key in ("name", "contact_email")
        if request.form.get(key, "").strip()
    }
    args, error = load_form(AdvertiserCreateSchema(), form)
    session = get_session()
    if args is not None:
        try:
            signage_actions.create_advertiser(session, args["name"], args["contact_email"])
        except signage_actions.SignageInputError as exc:
            error = str(exc)
    if error:
        flash(f"Advertiser not created: {error}", "error")
    else:
        session.commit()
        flash(f"Advertiser {args['name']} created.", "success")
    return redirect(url_for("signage.campaigns"))


@bp.post("/campaigns")
@login_required
def create_campaign() -> Any:
    session = get_session()
    campaign, error = _save_campaign_from_form(session, None)
    if campaign is None:
        flash(f"Campaign not saved: {error}", "error")
        return redirect(url_for("signage.campaigns"))
    flash(f"Campaign {campaign.name} created.", "success")
    return redirect(url_for("signage.campaign", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@login_required
def campaign(campaign_id: int) -> Any:
    session = get_session()
    if queries.campaign_detail(session, campaign_id) is None:
        raise NotFound(f"There is no campaign #{campaign_id}.")
    if request.method == "POST":
        saved, error = _save_campaign_from_form(session, campaign_id)
        if saved is None:
            flash(f"Campaign not saved: {error}", "error")
        else:
            flash("Campaign saved.", "success")
        return redirect(url_for("signage.campaign", campaign_id=campaign_id))
    detail = queries.campaign_detail(session, campaign_id)
    settings = get_settings()
    return render_template(
        "signage_campaign.html",
        campaign=detail,
        advertisers=queries.list_advertisers(session),
        media=queries.list_media(session, settings.resolved_media_base_url),
        **_campaign_form_context(session, detail),
    )


@bp.post("/campaigns/<int:campaign_id>/status")
@login_required
def campaign_status(campaign_id: int) -> Any:
    session = get_session()
    status = request.form.get("status", "")
    try:
        signage_actions.set_campaign_status(session, campaign_id, status)
    except LookupError:
        raise NotFound(f"There is no campaign #{campaign_id}.") from None
    except signage_actions.SignageInputError as exc:
        flash(f"Not changed: {exc}", "error")
        return redirect(url_for("signage.campaign", campaign_id=campaign_id))
    session.commit()
    flash(f"Campaign is now {status}.", "success")
    return redirect(url_for("signage.campaign", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/creatives")
@login_required
def add_creative(campaign_id: int) -> Any:
    session = get_session()
    settings = get_settings()
    back = url_for("signage.campaign", campaign_id=campaign_id)
    form = {
        key: request.form.get(key, "").strip()
        for key in ("name", "kind", "media_sha256", "url", "gtin")
    }
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            asset = store_media(
                settings,
                read_upload(upload.stream),
                upload.filename,
                upload.mimetype or "",
                session,
            )
        except (MediaError, UploadTooLarge) as exc:
            flash(f"Creative not added: {exc}", "error")
            return redirect(back)
        form["media_sha256"] = asset.sha256
    values = {key: value for key, value in form.items() if value}
    values["duration_s"] = _number(request.form.get("duration_s", "")) or 10.0
    args, error = load_form(CreativeInputSchema(), values)
    if args is not None:
        try:
            signage_actions.add_creative(session, settings, campaign_id, args)
        except LookupError:
            raise NotFound(f"There is no campaign #{campaign_id}.") from None
        except signage_actions.SignageInputError as exc:
            error = str(exc)
    if error:
        session.rollback()
        flash(f"Creative not added: {error}", "error")
    else:
        session.commit()
        flash(f"Creative {args['name']} added.", "success")
    return redirect(back)


def _campaign_form_context(session: Any, detail: dict[str, Any] | None) -> dict[str, Any]:
    """Choices for the campaign form, and the campaign's values in store-local time."""
    tz = signage_actions.store_timezone(session, get_settings())
    local = {}
    if detail is not None:
        for key in ("starts_at", "ends_at"):
            local[key] = detail[key].astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")
    return {
        "zones": queries.list_zones(session),
        "weekdays": WEEKDAYS,
        "trigger_kinds": TRIGGER_KINDS,
        "age_bands": AGE_BANDS,
        "genders": GENDERS,
        "store_tz": tz,
        "local": local,
    }


def _save_campaign_from_form(session: Any, campaign_id: int | None) -> tuple[Any, str]:
    tz = signage_actions.store_timezone(session, get_settings())
    try:
        values = campaign_values(request.form, tz)
    except ValueError as exc:
        return None, str(exc)
    args, error = load_form(CampaignInputSchema(), values)
    if args is None:
        return None, error
    try:
        campaign = signage_actions.save_campaign(session, args, campaign_id)
    except signage_actions.SignageInputError as exc:
        return None, str(exc)
    session.commit()
    return campaign, ""


def campaign_values(form: MultiDict, tz: str) -> dict[str, Any]:
    """The campaign form as the API's JSON body: local date-times become UTC with an offset,
    checkboxes and comma lists become the targeting object."""
    values: dict[str, Any] = {
        "advertiser_id": _number(form.get("advertiser_id", "")),
        "name": form.get("name", "").strip(),
        "starts_at": _local_to_utc(form.get("starts_at", ""), tz, "starts_at"),
        "ends_at": _local_to_utc(form.get("ends_at", ""), tz, "ends_at"),
        "cpm": form.get("cpm", "").strip() or "0",
        "currency": form.get("currency", "").strip().upper() or "EUR",
        "priority": _number(form.get("priority", "")),
        "frequency_cap_per_hour": _number(form.get("frequency_cap_per_hour", "")),
        "share_of_voice": _number(form.get("share_of_voice", "")),
        "targeting": targeting_from_form(form),
    }
    return {key: value for key, value in values.items() if value is not None}


def targeting_from_form(form: MultiDict) -> dict[str, Any]:
    audience: dict[str, Any] = {
        "min_count": _number(form.get("min_count", "")),
        "min_dwell_s": _number(form.get("min_dwell_s", "")),
        "min_attention_s": _number(form.get("min_attention_s", "")),
        "age_bands": {
            band: _number(form.get(f"age_{band}", ""))
            for band in AGE_BANDS
            if form.get(f"age_{band}", "").strip()
        },
        "gender": {
            gender: _number(form.get(f"gender_{gender}", ""))
            for gender in GENDERS
            if form.get(f"gender_{gender}", "").strip()
        },
    }
    targeting = {
        "zones": form.getlist("zones"),
        "dayparts": _split(form.get("dayparts", "")),
        "weekdays": [_number(day) for day in form.getlist("weekdays")],
        "triggers": form.getlist("triggers"),
        "loyalty_segments": _split(form.get("loyalty_segments", "")),
        "audience": {key: value for key, value in audience.items() if value not in (None, {})},
    }
    return {key: value for key, value in targeting.items() if value}


def _local_to_utc(text: str, tz: str, field: str) -> str | None:
    """A datetime-local input (store-local wall time) as ISO 8601 UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field}: {text!r} is not a date and time") from None
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC")).isoformat()


# --- triggers and overrides ----------------------------------------------------------------


@bp.get("/triggers")
@login_required
def triggers() -> str:
    args, errors = load_filters(TriggerQuerySchema(), TRIGGERS_PER_PAGE)
    for error in errors:
        flash(f"Ignored filter {error}", "error")
    limit, offset = args.pop("limit"), args.pop("offset")
    session = get_session()
    page = queries.list_trigger_events(session, queries.TriggerFilters(**args), limit, offset)
    return render_template(
        "signage_triggers.html",
        page=page,
        filters=args,
        counts=queries.trigger_counts(session),
        outcomes=TRIGGER_OUTCOMES,
        kinds=TRIGGER_KINDS,
        zones=queries.list_zones(session),
    )


@bp.route("/override", methods=["GET", "POST"])
@login_required
def override() -> Any:
    session = get_session()
    if request.method == "POST":
        values: dict[str, Any] = {
            key: request.form.get(key, "").strip()
            for key in ("zone", "text", "media_sha256", "gtin")
            if request.form.get(key, "").strip()
        }
        for key in ("seconds", "priority"):
            number = _number(request.form.get(key, ""))
            if number is not None:
                values[key] = number
        args, error = load_form(OverrideCreateSchema(), values)
        if args is not None:
            try:
                created = signage_actions.create_manual_override(
                    session, get_settings(), args, created_by=current_user.username
                )
            except signage_actions.SignageInputError as exc:
                error = str(exc)
        if error:
            session.rollback()
            flash(f"Override not sent: {error}", "error")
        else:
            session.commit()
            flash(
                f"Override #{created.id} for zone {created.zone_id} until "
                f"{created.expires_at:%H:%M:%S} UTC; the worker pushes it to the players.",
                "success",
            )
        return redirect(url_for("signage.override"))
    settings = get_settings()
    return render_template(
        "signage_override.html",
        zones=queries.list_zones(session),
        overrides=queries.recent_overrides(session),
        media=queries.list_media(session, settings.resolved_media_base_url),
    )
