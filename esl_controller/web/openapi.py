"""The OpenAPI document, generated from the API views' docstrings and the same
marshmallow schemas that validate requests (apispec + its marshmallow plugin)."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, Flask, current_app, jsonify

from esl_controller.signage.playlists import PLAYLIST_NAME
from esl_controller.web import auth
from esl_controller.web.api import API_PREFIX
from esl_controller.web.bounded_fields import INT64_MAX

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)

_FLASK_PATH_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/openapi.json")
@auth.api_auth()
def openapi_document() -> Any:
    document = current_app.extensions.get("esl_openapi")
    if document is None:
        document = build_spec(current_app).to_dict()
        current_app.extensions["esl_openapi"] = document
    return jsonify(document)


def build_spec(app: Flask) -> APISpec:
    spec = APISpec(
        title="esl-controller API",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "Electronic shelf labels: state, previews and actions."},
        security=[{"bearerAuth": []}, {"cookieAuth": []}],
    )
    _add_shared_components(spec)
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if not is_api_rule(rule.rule, rule.endpoint):
            continue
        operations = load_operations_from_docstring(app.view_functions[rule.endpoint].__doc__)
        wanted = {method.lower() for method in rule.methods or ()} - {"head", "options"}
        operations = {method: op for method, op in operations.items() if method in wanted}
        for operation in operations.values():
            _add_limit_responses(operation)
        if operations:
            spec.path(path=flask_path_to_openapi(rule.rule), operations=operations)
    return spec


def _add_limit_responses(operation: dict[str, Any]) -> None:
    """Every operation taking a body may meet request_limits: too large (413) or a JSON
    body too deep or with too long a number (400)."""
    if "requestBody" not in operation:
        return
    responses = operation.setdefault("responses", {})
    responses.setdefault(400, "BadRequest")
    responses.setdefault(413, "TooLarge")


def is_api_rule(path: str, endpoint: str) -> bool:
    """Routes of `api` and of every other blueprint mounted under /api/v1 (signage, ...)."""
    if endpoint.startswith("openapi."):
        return False
    return endpoint.startswith("api.") or path.startswith(API_PREFIX + "/")


def flask_path_to_openapi(path: str) -> str:
    """`/labels/<label_id>` or `/x/<int:id>` -> `/labels/{label_id}`, `/x/{id}`."""
    return _FLASK_PATH_ARGUMENT.sub(r"{\1}", path)


def _add_shared_components(spec: APISpec) -> None:
    spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "API token (admin issues it)"},
    )
    spec.components.security_scheme(
        "cookieAuth",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": "session",
            "description": "dashboard login; POSTs must also send the X-CSRFToken header",
        },
    )
    spec.components.parameter(
        "LabelId", "path", {"name": "label_id", "required": True, "schema": {"type": "string"}}
    )
    # `<int:...>` matches 0 to 2**63-1 (request_limits.Int64Converter); anything else is a 404.
    path_id = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
    spec.components.parameter(
        "SyncRunId", "path", {"name": "run_id", "required": True, "schema": path_id}
    )
    spec.components.parameter(
        "PlaylistName",
        "path",
        {
            "name": "name",
            "required": True,
            "description": "the file's name without .yaml; any other name is a 422",
            "schema": {"type": "string", "pattern": PLAYLIST_NAME.pattern},
        },
    )
    spec.components.parameter(
        "CampaignId", "path", {"name": "campaign_id", "required": True, "schema": path_id}
    )
    for name, status_text in (
        ("BadRequest", "the request failed validation; `errors` maps fields to messages"),
        ("Unauthorized", "no valid login or Bearer token"),
        ("Forbidden", "the user's role may not do this"),
        ("NotFound", "no such label, user or sync run"),
        ("Unprocessable", "the label cannot be rendered (unbound, bad product or template)"),
        ("BadName", "the name is not a valid playlist name (`errors.name` says why)"),
        ("TooLarge", "the request body is over the limit (2 MiB; media 50 MB)"),
    ):
        spec.components.response(
            name,
            {
                "description": status_text,
                "content": {"application/json": {"schema": "ErrorSchema"}},
            },
        )
