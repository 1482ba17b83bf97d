"""The manager's ERP sync pages: the runs, one run with its dead letters, "Sync now" and
"Re-run". Buttons only write a requested run; the worker runs it. A run in progress
refreshes its counts from /api/v1/sync-runs/<id> (static/sync.js)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from werkzeug.exceptions import NotFound

from esl_controller.web import queries, sync_requests
from esl_controller.web.auth import login_required
from esl_controller.web.dashboard import load_filters
from esl_controller.web.database import get_session, get_settings
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.schemas import PagingSchema, SyncRunQuerySchema
from esl_controller.web.store_scope import current_store_id

RUNS_PER_PAGE = 25
DEAD_LETTERS_PER_PAGE = 50

bp = Blueprint("sync", __name__, url_prefix="/sync")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("")
@login_required
def runs() -> str:
    args, errors = load_filters(SyncRunQuerySchema(), RUNS_PER_PAGE)
    for error in errors:
        flash(_("Ignored filter %(filter)s") % {"filter": error}, "error")
    session = get_session()
    page = queries.list_sync_runs(
        session, args.get("status"), args["limit"], args["offset"], current_store_id()
    )
    return render_template(
        "sync_runs.html",
        page=page,
        status=args.get("status"),
        statuses=queries.SYNC_RUN_STATUSES,
        active=sync_requests.active_sync_run(session),
        feed=get_settings().erp_feed,
    )


@bp.post("")
@login_required
def sync_now() -> Any:
    try:
        run = sync_requests.request_sync(get_session(), get_settings())
    except sync_requests.SyncAlreadyActive as exc:
        flash(_("Not requested: %(reason)s.") % {"reason": exc}, "error")
    else:
        flash(
            _("Sync #%(id)s requested; the worker starts it shortly.") % {"id": run.id}, "success"
        )
    return redirect(url_for("sync.runs"))


@bp.get("/<int:run_id>")
@login_required
def run(run_id: int) -> str:
    args, _errors = load_filters(PagingSchema(), DEAD_LETTERS_PER_PAGE)
    session = get_session()
    detail = queries.sync_run_detail(session, run_id, current_store_id())
    if detail is None:
        raise NotFound(f"There is no sync run #{run_id}.")
    dead_letters = queries.list_dead_letters(session, run_id, args["limit"], args["offset"])
    return render_template(
        "sync_run.html",
        run=detail,
        dead_letters=dead_letters,
        can_rerun=detail["status"] in sync_requests.RETRYABLE_STATUSES,
    )


@bp.post("/<int:run_id>/retry")
@login_required
def retry(run_id: int) -> Any:
    try:
        retry_run = sync_requests.request_retry(get_session(), run_id)
    except LookupError:
        raise NotFound(f"There is no sync run #{run_id}.") from None
    except (ValueError, sync_requests.SyncAlreadyActive) as exc:
        flash(_("Not re-run: %(reason)s.") % {"reason": exc}, "error")
        return redirect(url_for("sync.run", run_id=run_id))
    rerun = {"run": run_id, "id": retry_run.id}
    flash(_("Re-run of #%(run)s requested as sync #%(id)s.") % rerun, "success")
    return redirect(url_for("sync.run", run_id=retry_run.id))
