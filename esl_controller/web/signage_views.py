"""The manager's signage pages: players, playlists (with the YAML editor and media upload),
campaigns with creatives, the trigger log and the manual override form.

Forms are checked by the same schemas as the API (`schemas.py`) and write through
`signage_actions`, so a page and its API call can never disagree on what is valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from esl_controller.models import Player, Zone
from esl_controller.signage.media import MAX_MEDIA_BYTES, MediaError, media_path, store_media
from esl_controller.signage.playlist_draft import (
    DraftError,
    PlaylistDraft,
    draft_from_playlist,
    draft_yaml,
    header_comments,
)
from esl_controller.signage.playlists import PlaylistError, parse_playlist
from esl_controller.signage.targeting import AGE_BANDS, GENDERS
from esl_controller.signage.thumbnails import NO_PREVIEW, ThumbnailCache, ThumbnailError
from esl_controller.web import (
    campaign_form,
    chain_targeting,
    playlist_editor,
    queries,
    signage_actions,
    zone_kinds,
)
from esl_controller.web.auth import login_required
from esl_controller.web.dashboard import load_filters
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
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
from esl_controller.web.store_scope import current_store_id, require_in_store, store_settings

TRIGGERS_PER_PAGE = 50
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NEW_PLAYLIST_TEXT = """title: New playlist
priority: 10
targets: {zones: [entrance]}
items:
  - {id: news, type: web, url: "https://example.org/board", duration: 20}
"""

THUMBNAILS = ThumbnailCache()

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
    rows = queries.list_players(
        session,
        include_archived=request.args.get("archived") == "1",
        store_id=current_store_id(),
    )
    by_zone: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_zone.setdefault(row["zone_id"], []).append(row)
    return render_template(
        "signage_players.html",
        by_zone=by_zone,
        zones=queries.list_zones(session, current_store_id()),
        zone_rows=queries.zone_rows(session, current_store_id()),
        screens=screen_health(session),
    )


@bp.post("/zones/<zone_id>/kind")
@login_required
def set_zone_kind(zone_id: str) -> Any:
    require_in_store(Zone, zone_id, "zone")
    kind = request.form.get("kind", "").strip()
    session = get_session()
    try:
        zone_kinds.set_zone_kind(session, zone_id, kind, actor=current_user.username)
    except zone_kinds.ZoneKindError:
        flash(
            _(
                "Zone %(zone)s keeps its kind: a kind is lower-case letters and digits joined "
                "by single dashes, at most %(length)s characters (such as dairy or fresh-produce)."
            )
            % {"zone": zone_id, "length": zone_kinds.MAX_KIND_LENGTH},
            "error",
        )
        return redirect(url_for("signage.players", _anchor="zones"))
    session.commit()
    flash(_("Zone %(zone)s is of kind %(kind)s.") % {"zone": zone_id, "kind": kind}, "success")
    return redirect(url_for("signage.players", _anchor="zones"))


@bp.post("/players")
@login_required
def register_player() -> Any:
    form = {key: request.form.get(key, "").strip() for key in ("id", "name", "zone")}
    args, error = load_form(PlayerCreateSchema(), form)
    if args is None:
        flash(_("Player not registered: %(reason)s") % {"reason": error}, "error")
        return redirect(url_for("signage.players"))
    session = get_session()
    try:
        signage_actions.register_player(
            session, store_settings(), args["id"], args["name"], args["zone"]
        )
    except signage_actions.SignageInputError as exc:
        flash(_("Player not registered: %(reason)s") % {"reason": exc}, "error")
        return redirect(url_for("signage.players"))
    session.commit()
    registered = {"player": args["id"], "zone": args["zone"]}
    flash(_("Player %(player)s registered in zone %(zone)s.") % registered, "success")
    return redirect(url_for("signage.players"))


@bp.post("/players/<player_id>/archive")
@login_required
def archive_player(player_id: str) -> Any:
    require_in_store(Player, player_id, "player")
    session = get_session()
    try:
        signage_actions.archive_player(session, player_id)
    except LookupError:
        raise NotFound(f"There is no player {player_id!r}.") from None
    session.commit()
    flash(_("Player %(player)s archived.") % {"player": player_id}, "success")
    return redirect(url_for("signage.players"))


# --- playlists and media -----------------------------------------------------------------


@bp.get("/playlists")
@login_required
def playlists() -> str:
    settings = store_settings()
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
        signage_actions.playlist_path(store_settings(), name)
    except signage_actions.SignageInputError as exc:
        flash(_("Not created: %(reason)s") % {"reason": exc}, "error")
        return redirect(url_for("signage.playlists"))
    return redirect(url_for("signage.playlist", name=name))


@bp.route("/playlists/<name>", methods=["GET", "POST"])
@login_required
def playlist(name: str) -> Any:
    """The editor page; a POST here is the YAML editor's save (for power users)."""
    settings = store_settings()
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
            signage_actions.save_playlist(
                session, settings, name, text, actor=current_user.username
            )
        except PlaylistError as exc:
            error = str(exc)
        session.commit()
        if error is None:
            flash(
                _("Playlist %(name)s saved; the worker re-publishes it.") % {"name": name},
                "success",
            )
            return redirect(url_for("signage.playlist", name=name))
    draft = _saved_draft(session, name, saved_text)
    return _playlist_page(name, saved_text, draft, text=text, yaml_error=error)


@bp.post("/playlists/<name>/items")
@login_required
def edit_playlist_items(name: str) -> Any:
    """The editor without YAML: every button posts the whole form, so nothing typed is lost;
    only "Save" writes the file."""
    settings = store_settings()
    try:
        saved_text = signage_actions.read_playlist_text(settings, name)
    except signage_actions.SignageInputError:
        raise NotFound(f"{name!r} is not a playlist name.") from None
    session = get_session()
    draft = playlist_editor.draft_from_form(request.form)
    action = request.form.get("action", "save")
    errors: list[str] = []
    opened = request.form.get("base_digest")  # the file as it was when the editor opened
    current = playlist_editor.text_digest(saved_text)
    if action == "save" and opened is not None and opened != current:
        # Someone saved in between: say so rather than overwrite them silently. The page now
        # carries their version's digest, so pressing Save again replaces it deliberately.
        errors = [playlist_editor.SAVED_MEANWHILE]
    elif action == "upload":
        draft, errors = _upload_into(session, draft)
    elif action != "save":
        try:
            draft = playlist_editor.apply_button(session, settings, draft, action, request.form)
        except playlist_editor.EditorInputError as exc:
            session.rollback()
            errors = [str(exc)]
        else:
            session.commit()  # an added announcement's slide is stored, saved or not
    else:
        try:
            text = draft_yaml(draft, header_comments(saved_text or ""))
            signage_actions.save_playlist(
                session, settings, name, text, actor=current_user.username
            )
        except DraftError as exc:
            errors = [str(exc)]
        except PlaylistError as exc:
            session.commit()  # the refusal stays on the playlist's row for the list page
            errors = playlist_editor.plain_errors(str(exc), draft)
        else:
            session.commit()
            flash(
                _("Playlist %(name)s saved; the worker re-publishes it.") % {"name": name},
                "success",
            )
            return redirect(url_for("signage.playlist", name=name))
    base = current if errors == [playlist_editor.SAVED_MEANWHILE] else opened
    return _playlist_page(
        name, saved_text, draft, form_errors=errors, unsaved=True, base_digest=base
    )


def _upload_into(session: Any, draft: PlaylistDraft) -> tuple[PlaylistDraft, list[str]]:
    """Store the editor's upload (same limits and checks as every upload) and add it."""
    upload = request.files.get("new_file")
    if upload is None or not upload.filename:
        return draft, ["Choose a file to upload first."]
    try:
        asset = store_media(
            store_settings(),
            read_upload(upload.stream),
            upload.filename,
            upload.mimetype or "",
            session,
        )
    except (MediaError, UploadTooLarge) as exc:
        session.rollback()
        return draft, [f"Not uploaded: {exc}"]
    session.commit()  # the media is stored whether or not the playlist is saved
    return playlist_editor.with_media(draft, asset), []


def _saved_draft(session: Any, name: str, saved_text: str | None) -> PlaylistDraft | None:
    """The saved file as a draft; None when it does not parse (only YAML can fix it)."""
    settings = store_settings()
    if saved_text is None:
        return PlaylistDraft(title=name)
    try:
        saved = parse_playlist(
            name,
            saved_text,
            signage_actions.playlist_source(name),
            signage_actions.media_checker(session, settings),
        )
    except PlaylistError:
        return None
    return draft_from_playlist(saved)


def _playlist_page(
    name: str,
    saved_text: str | None,
    draft: PlaylistDraft | None,
    *,
    text: str | None = None,
    yaml_error: str | None = None,
    form_errors: list[str] | None = None,
    unsaved: bool = False,
    base_digest: str | None = None,
) -> Any:
    settings = store_settings()
    session = get_session()
    summary = queries.list_playlists(session, [name] if saved_text is not None else [])
    status = next((row for row in summary if row["name"] == name), None)
    rows = (
        playlist_editor.item_rows(session, settings, draft, _thumbnail_url)
        if draft is not None
        else []
    )
    page = render_template(
        "signage_playlist.html",
        name=name,
        text=text if text is not None else (saved_text or NEW_PLAYLIST_TEXT),
        error=yaml_error,
        status=status,
        exists=saved_text is not None,
        source=signage_actions.playlist_source(name),
        draft=draft,
        rows=rows,
        form_errors=form_errors or [],
        unsaved=unsaved,
        base_digest=(
            base_digest if base_digest is not None else playlist_editor.text_digest(saved_text)
        ),
        weekday_choices=playlist_editor.weekday_choices(),
        picker_media=playlist_editor.picker_media(session),
        folder_files=playlist_editor.media_folder_files(settings),
        max_upload_mb=MAX_MEDIA_BYTES // 1_048_576,
    )
    return page, (422 if yaml_error or form_errors else 200)


def _thumbnail_url(kind: str, key: str) -> str:
    if kind == "file":
        return url_for("signage.file_thumbnail", filename=key)
    return url_for("signage.media_thumbnail", sha256=key)


@bp.get("/thumbnails/media/<sha256>")
@login_required
def media_thumbnail(sha256: str) -> Any:
    settings = store_settings()
    if not signage_actions.media_asset_present(get_session(), settings, sha256):
        raise NotFound("no such media")
    path = media_path(settings, sha256)
    return _thumbnail_response(f"media:{sha256}", path)


@bp.get("/thumbnails/file/<filename>")
@login_required
def file_thumbnail(filename: str) -> Any:
    settings = store_settings()
    if filename not in playlist_editor.media_folder_files(settings):
        raise NotFound("no such file in the media folder")
    path = settings.playlists_dir / signage_actions.MEDIA_SUBDIR / filename
    return _thumbnail_response(f"file:{path}:{path.stat().st_mtime_ns}", path)


def _thumbnail_response(key: str, path: Any) -> Any:
    try:
        png = THUMBNAILS.get(key, path.read_bytes)
    except ThumbnailError:
        png = NO_PREVIEW  # a stored file Pillow cannot read: a neutral box, not a broken image
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.post("/media")
@login_required
def upload_media() -> Any:
    upload = request.files.get("file")
    back = request.form.get("back") or url_for("signage.playlists")
    if not back.startswith("/signage/"):
        back = url_for("signage.playlists")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "error")
        return redirect(back)
    session = get_session()
    try:
        asset = store_media(
            store_settings(),
            read_upload(upload.stream),
            upload.filename,
            upload.mimetype or "",
            session,
        )
    except (MediaError, UploadTooLarge) as exc:
        flash(_("Not uploaded: %(reason)s") % {"reason": exc}, "error")
        return redirect(back)
    session.commit()
    uploaded = {"file": asset.filename, "sha256": asset.sha256}
    flash(_("Uploaded %(file)s: media %(sha256)s") % uploaded, "success")
    return redirect(back)


# --- campaigns -------------------------------------------------------------------------


@bp.get("/campaigns")
@login_required
def campaigns() -> str:
    return _campaigns_page()


def _campaigns_page(typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None):
    session = get_session()
    return render_template(
        "signage_campaigns.html",
        campaigns=queries.list_campaigns(session),
        advertisers=queries.list_advertisers(session),
        **_campaign_form_context(session, None, typed, errors),
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
        flash(_("Advertiser not created: %(reason)s") % {"reason": error}, "error")
    else:
        session.commit()
        flash(_("Advertiser %(name)s created.") % {"name": args["name"]}, "success")
    return redirect(url_for("signage.campaigns"))


@bp.post("/campaigns")
@login_required
def create_campaign() -> Any:
    session = get_session()
    campaign, errors = _save_campaign_from_form(session, None)
    if campaign is None:
        session.rollback()
        return _campaigns_page(campaign_form.typed_values(request.form), errors), 422
    flash(_("Campaign %(name)s created.") % {"name": campaign.name}, "success")
    return redirect(url_for("signage.campaign", campaign_id=campaign.id))


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@login_required
def campaign(campaign_id: int) -> Any:
    session = get_session()
    if queries.campaign_detail(session, campaign_id) is None:
        raise NotFound(f"There is no campaign #{campaign_id}.")
    typed, errors = None, None
    if request.method == "POST":
        saved, errors = _save_campaign_from_form(session, campaign_id)
        if saved is not None:
            flash(_("Campaign saved."), "success")
            return redirect(url_for("signage.campaign", campaign_id=campaign_id))
        session.rollback()
        typed = campaign_form.typed_values(request.form)
    detail = queries.campaign_detail(session, campaign_id)
    settings = store_settings()
    return render_template(
        "signage_campaign.html",
        campaign=detail,
        advertisers=queries.list_advertisers(session),
        media=queries.list_media(session, settings.resolved_media_base_url),
        **_campaign_form_context(session, detail, typed, errors),
    ), (422 if errors else 200)


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
        flash(_("Not changed: %(reason)s") % {"reason": exc}, "error")
        return redirect(url_for("signage.campaign", campaign_id=campaign_id))
    session.commit()
    flash(_("Campaign is now %(status)s.") % {"status": status}, "success")
    return redirect(url_for("signage.campaign", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/creatives")
@login_required
def add_creative(campaign_id: int) -> Any:
    session = get_session()
    settings = store_settings()
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
            flash(_("Creative not added: %(reason)s") % {"reason": exc}, "error")
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
        flash(_("Creative not added: %(reason)s") % {"reason": error}, "error")
    else:
        session.commit()
        flash(_("Creative %(name)s added.") % {"name": args["name"]}, "success")
    return redirect(back)


def _campaign_form_context(
    session: Any,
    detail: dict[str, Any] | None,
    typed: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Choices for the campaign form and its values: as typed when it was refused, else the
    campaign's (times in store-local time)."""
    tz = signage_actions.store_timezone(session, store_settings())
    local = {}
    if detail is not None:
        for key in ("starts_at", "ends_at"):
            local[key] = detail[key].astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")
    errors = errors or {}
    return {
        "stores": chain_targeting.store_ids(session),
        "zone_kinds": chain_targeting.zone_kinds(session),
        "zones": queries.list_zones(session, current_store_id()),
        "weekdays": WEEKDAYS,
        "trigger_kinds": TRIGGER_KINDS,
        "age_bands": AGE_BANDS,
        "genders": GENDERS,
        "store_tz": tz,
        "f": typed if typed is not None else campaign_form.campaign_values(detail, local),
        "errors": errors,
        "other_errors": [
            message for key, message in errors.items() if key not in campaign_form.SHOWN_FIELDS
        ],
    }


def _save_campaign_from_form(session: Any, campaign_id: int | None) -> tuple[Any, dict[str, str]]:
    """The saved campaign and no errors, or None and a sentence per refused form field."""
    tz = signage_actions.store_timezone(session, store_settings())
    currency = request.form.get("currency", "").strip().upper()
    try:
        values = campaign_values(request.form, tz)
    except ValueError as exc:
        field, _, message = str(exc).partition(": ")
        return None, campaign_form.field_errors({field: message})
    try:
        args = CampaignInputSchema().load(values)
    except ValidationError as exc:
        # The schema skips its cross-field checks once a field fails; the form runs them
        # anyway so one refusal names every problem, not one per attempt.
        errors = campaign_form.cross_field_errors(values)
        errors.update(campaign_form.field_errors(exc.messages, currency))
        return None, errors
    try:
        campaign = signage_actions.save_campaign(
            session, args, campaign_id, actor=current_user.username
        )
    except signage_actions.SignageInputError as exc:
        return None, campaign_form.field_errors({exc.field: exc.message}, currency)
    session.commit()
    return campaign, {}


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
        "stores": form.getlist("stores"),
        "zone_kinds": form.getlist("zone_kinds"),
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
        flash(_("Ignored filter %(filter)s") % {"filter": error}, "error")
    limit, offset = args.pop("limit"), args.pop("offset")
    session = get_session()
    page = queries.list_trigger_events(
        session, queries.TriggerFilters(**args), limit, offset, current_store_id()
    )
    return render_template(
        "signage_triggers.html",
        page=page,
        filters=args,
        counts=queries.trigger_counts(session, current_store_id()),
        outcomes=TRIGGER_OUTCOMES,
        kinds=TRIGGER_KINDS,
        zones=queries.list_zones(session, current_store_id()),
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
                    session, store_settings(), args, created_by=current_user.username
                )
            except signage_actions.SignageInputError as exc:
                error = str(exc)
        if error:
            session.rollback()
            flash(_("Override not sent: %(reason)s") % {"reason": error}, "error")
        else:
            session.commit()
            flash(
                _(
                    "Override #%(id)s for zone %(zone)s until %(until)s UTC; "
                    "the worker pushes it to the players."
                )
                % {
                    "id": created.id,
                    "zone": created.zone_id,
                    "until": f"{created.expires_at:%H:%M:%S}",
                },
                "success",
            )
        return redirect(url_for("signage.override"))
    settings = store_settings()
    return render_template(
        "signage_override.html",
        zones=queries.list_zones(session, current_store_id()),
        overrides=queries.recent_overrides(session, store_id=current_store_id()),
        media=queries.list_media(session, settings.resolved_media_base_url),
    )
