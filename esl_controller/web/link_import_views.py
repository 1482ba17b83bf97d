"""The dashboard's CSV import of label links, with its per-row report."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask_login import current_user

from esl_controller.esl import link_import
from esl_controller.web.auth import login_required
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.request_limits import UploadTooLarge, read_upload
from esl_controller.web.store_scope import store_settings

bp = Blueprint("label_import", __name__, url_prefix="/label-import")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("")
@login_required
def form() -> str:
    return render_template("label_import.html", report=None, error=None)


@bp.post("")
@login_required
def upload() -> tuple[str, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(None, _("Choose a CSV file to import."), 400)
    session = get_session()
    try:
        report = link_import.import_links(
            session,
            store_settings(),
            read_upload(upload.stream),
            actor=current_user.username,
            relink=request.form.get("relink") == "1",
        )
    except (link_import.ImportFileError, UploadTooLarge) as exc:
        session.rollback()
        return _page(None, _("Nothing imported: %(reason)s.") % {"reason": exc}, 422)
    return _page(report, None, 200)


def _page(
    report: link_import.ImportReport | None, error: str | None, status: int
) -> tuple[str, int]:
    return render_template("label_import.html", report=report, error=error), status
