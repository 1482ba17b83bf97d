"""Head office: the chain overview page and its JSON, one row per store.

Only head-office staff (no store of their own) see it; each store's name switches the
dashboard into that store.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template
from werkzeug.exceptions import Forbidden

from esl_controller.clock import utcnow
from esl_controller.web import auth
from esl_controller.web.chain_queries import LABEL_STATES, chain_health
from esl_controller.web.dashboard import ETA_SOURCES
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _
from esl_controller.web.store_scope import is_head_office

bp = Blueprint("chain", __name__)
api_bp = Blueprint("chain_api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)


def _require_head_office() -> None:
    if not is_head_office():
        raise Forbidden(_("The chain overview is for head office; your account sees one store."))


@bp.get("/chain")
@auth.login_required
def overview() -> str:
    _require_head_office()
    health = chain_health(get_session(), utcnow())
    return render_template("chain.html", chain=health, states=LABEL_STATES, eta_sources=ETA_SOURCES)


@api_bp.get("/chain")
@auth.api_auth()
def chain_json() -> Any:
    """Every store's health and the chain's totals (head office only).
    ---
    get:
      tags: [chain]
      summary: One row per store (labels by state, stations, screens, incidents, last sync,
        what its stations still have to send and when they are through)
      responses:
        200:
          description: the stores and their totals
        401: Unauthorized
        403: Forbidden
    """
    _require_head_office()
    return chain_health(get_session(), utcnow()).as_dict()
