"""Dashboard forms that set up base stations (the list itself is on the dashboard)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, request, url_for

from esl_controller.esl import stations
from esl_controller.web.auth import login_required
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.store_scope import store_settings

bp = Blueprint("stations", __name__, url_prefix="/base-stations")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.post("/add")
@login_required
def add() -> Any:
    form = request.form
    station_id = form.get("id", "").strip()
    url = form.get("url", "").strip()
    options = {"url": url} if url else {}
    try:
        row = stations.add_station(
            get_session(),
            store_settings(),
            station_id,
            form.get("driver", "mqtt"),
            options,
            form.get("name", "").strip(),
        )
    except stations.StationError as exc:
        flash(_("Base station not added: %(reason)s") % {"reason": exc}, "error")
    else:
        flash(
            _(
                "Base station %(station)s added; it is linked within a few seconds "
                "and its labels appear here."
            )
            % {"station": row.id},
            "success",
        )
    return redirect(url_for("dashboard.base_stations"))


@bp.post("/<station_id>/remove")
@login_required
def remove(station_id: str) -> Any:
    try:
        stations.remove_station(get_session(), store_settings(), station_id)
    except LookupError as exc:
        flash(str(exc.args[0]), "error")
    except stations.StationError as exc:
        flash(_("Not removed: %(reason)s") % {"reason": exc}, "error")
    else:
        flash(_("Base station %(station)s removed.") % {"station": station_id}, "success")
    return redirect(url_for("dashboard.base_stations"))
