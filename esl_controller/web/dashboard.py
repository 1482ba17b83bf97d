"""The manager's pages: overview, labels, one label with its actions, base stations,
incidents. Server-rendered; the overview refreshes its counts from /api/v1/summary."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import NotFound

from esl_controller.config import Settings
from esl_controller.esl import commands, label_links
from esl_controller.esl.link import LED_COLOURS, LED_MAX_SECONDS, LED_PATTERNS
from esl_controller.esl.stations import known_drivers
from esl_controller.labels.render_pool import shared_renderer
from esl_controller.models import Label
from esl_controller.web import queries
from esl_controller.web.auth import login_required
from esl_controller.web.database import get_session
from esl_controller.web.i18n import N_
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.schemas import (
    FlashRequestSchema,
    IncidentQuerySchema,
    LabelQuerySchema,
)
from esl_controller.web.store_scope import (
    args_without_store,
    current_store_id,
    require_in_store,
    store_settings,
)

ETA_SOURCES = {
    "station": N_("station's estimate"),
    "measured": N_("at its measured pace"),
    "nominal": N_("at nominal airtime"),
}
LABELS_PER_PAGE = 50
INCIDENTS_PER_PAGE = 50

bp = Blueprint("dashboard", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(format_duration, "duration")
    app.add_template_global(page_url, "page_url")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def page_url(offset: int) -> str:
    """This page's URL with the same filters and another offset."""
    args = {key: value for key, value in request.args.items() if value and key != "offset"}
    return url_for(request.endpoint, **(request.view_args or {}), **args, offset=offset)


def load_filters(schema: Schema, page_size: int) -> tuple[dict[str, Any], list[str]]:
    """Query-string filters, validated; a bad one is dropped with a message, not a crash."""
    raw = {key: value for key, value in args_without_store().items() if value.strip()}
    raw["limit"] = str(page_size)
    try:
        return schema.load(raw), []
    except ValidationError as exc:
        errors = [f"{field}: {' '.join(messages)}" for field, messages in exc.messages.items()]
        clean = {key: value for key, value in raw.items() if key not in exc.messages}
        return schema.load(clean), errors


@bp.get("/")
@login_required
def overview() -> str:
    return render_template(
        "overview.html", summary=queries.summary(get_session(), current_store_id())
    )


@bp.get("/labels")
@login_required
def labels() -> str:
    args, errors = load_filters(LabelQuerySchema(), LABELS_PER_PAGE)
    for error in errors:
        flash(_("Ignored filter %(filter)s") % {"filter": error}, "error")
    limit, offset = args.pop("limit"), args.pop("offset")
    session = get_session()
    page = queries.list_labels(
        session, queries.LabelFilters(**args), limit, offset, current_store_id()
    )
    return render_template(
        "labels.html",
        page=page,
        filters=args,
        states=queries.LABEL_STATES,
        stations=queries.base_station_ids(session, current_store_id()),
        templates=queries.label_templates_in_use(session, current_store_id()),
    )


@bp.get("/labels/<label_id>")
@login_required
def label(label_id: str) -> str:
    session = get_session()
    detail = queries.label_detail(session, label_id, current_store_id())
    if detail is None:
        raise NotFound(f"There is no label {label_id!r}.")
    return render_template(
        "label.html",
        label=detail,
        outbox=queries.label_outbox_history(session, label_id),
        colours=LED_COLOURS,
        patterns=LED_PATTERNS,
        max_seconds=LED_MAX_SECONDS,
        link_templates=link_template_names(store_settings(), detail["model"]),
    )


def link_template_names(settings: Settings, model: str) -> list[str]:
    """What a label of `model` can be linked with: "auto" first, then every template that
    fits its panel, so the form never offers one the link would refuse."""
    return label_links.templates_that_fit(shared_renderer(settings.templates_dir), model)


@bp.post("/labels/<label_id>/repush")
@login_required
def repush(label_id: str) -> Any:
    require_in_store(Label, label_id, "label")
    try:
        message = commands.repush_label(get_session(), label_id, store_settings())
    except LookupError:
        raise NotFound(f"There is no label {label_id!r}.") from None
    except ValueError as exc:
        flash(
            _("Could not re-push %(label)s: %(reason)s") % {"label": label_id, "reason": exc},
            "error",
        )
    else:
        if message is None:
            flash(_("Nothing queued for %(label)s.") % {"label": label_id}, "error")
        else:
            queued = {"label": label_id, "id": message.id}
            flash(_("Re-push of %(label)s queued (outbox #%(id)s).") % queued, "success")
    return redirect(url_for("dashboard.label", label_id=label_id))


@bp.post("/labels/<label_id>/flash")
@login_required
def flash_led(label_id: str) -> Any:
    require_in_store(Label, label_id, "label")
    try:
        args = FlashRequestSchema().load(
            {
                "colour": request.form.get("colour", ""),
                "pattern": request.form.get("pattern", ""),
                "seconds": _whole_number(request.form.get("seconds", "")),
            }
        )
    except ValidationError as exc:
        fields = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.messages.items())
        flash(_("LED flash not sent: %(fields)s") % {"fields": fields}, "error")
        return redirect(url_for("dashboard.label", label_id=label_id))
    try:
        message = commands.flash_led(
            get_session(), label_id, args["colour"], args["pattern"], args["seconds"]
        )
    except LookupError:
        raise NotFound(f"There is no label {label_id!r}.") from None
    except ValueError as exc:
        flash(
            _("Could not flash %(label)s: %(reason)s") % {"label": label_id, "reason": exc}, "error"
        )
    else:
        queued = {**args, "id": message.id}
        message_text = _(
            "LED flash (%(colour)s, %(pattern)s, %(seconds)s s) queued (outbox #%(id)s)."
        )
        flash(message_text % queued, "success")
    return redirect(url_for("dashboard.label", label_id=label_id))


def _whole_number(text: str) -> int | str:
    """Form fields are text; hand the schema an int when it is one, else the text to reject."""
    try:
        return int(text)
    except ValueError:
        return text


@bp.get("/base-stations")
@login_required
def base_stations() -> str:
    return render_template(
        "base_stations.html",
        stations=queries.list_base_stations(get_session(), current_store_id()),
        drivers=known_drivers(),
        eta_sources=ETA_SOURCES,
    )


@bp.get("/incidents")
@login_required
def incidents() -> str:
    args, errors = load_filters(IncidentQuerySchema(), INCIDENTS_PER_PAGE)
    for error in errors:
        flash(_("Ignored filter %(filter)s") % {"filter": error}, "error")
    session = get_session()
    page = queries.list_incidents(
        session, args.get("kind"), args["limit"], args["offset"], current_store_id()
    )
    return render_template(
        "incidents.html",
        page=page,
        kind=args.get("kind"),
        counts=queries.incident_counts(session, current_store_id()),
    )
