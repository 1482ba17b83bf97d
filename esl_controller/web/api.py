"""The JSON API under /api/v1: every dashboard action is also a call here.

Each view's docstring carries its OpenAPI operation (YAML after `---`); `openapi.py`
collects them, so the document lists exactly the routes that exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from esl_controller.esl import commands
from esl_controller.models import Label, OutboxMessage, User
from esl_controller.web import auth, queries, sync_requests, users
from esl_controller.web.database import get_session
from esl_controller.web.schemas import (
    BaseStationListSchema,
    CommandQueuedSchema,
    FlashRequestSchema,
    IncidentPageSchema,
    IncidentQuerySchema,
    LabelDetailSchema,
    LabelPageSchema,
    LabelQuerySchema,
    PagingSchema,
    PasswordChangeSchema,
    SummarySchema,
    SyncRequestSchema,
    SyncRunDetailSchema,
    SyncRunPageSchema,
    SyncRunQuerySchema,
    SyncRunSchema,
    UserCreateSchema,
    UserListSchema,
    UserSchema,
)
from esl_controller.web.store_scope import (
    args_without_store,
    current_store_id,
    require_in_store,
    store_settings,
)

API_PREFIX = "/api/v1"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def api_error(error: ApiError) -> tuple[Response, int]:
    return jsonify(error=error.message), error.status


def invalid_request(error: ValidationError) -> tuple[Response, int]:
    return jsonify(error="invalid request", errors=error.messages), 400


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under /api/v1 with the API's auth and error conventions.

    CSRF tokens are replaced by a check that only cookie-authenticated writes need (token
    clients send none); errors come back as JSON.
    """
    blueprint = Blueprint(name, import_name, url_prefix=API_PREFIX)
    auth.csrf.exempt(blueprint)
    blueprint.before_request(auth.protect_cookie_requests)
    blueprint.register_error_handler(ApiError, api_error)
    blueprint.register_error_handler(ValidationError, invalid_request)
    return blueprint


bp = api_blueprint("api", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.register_error_handler(HTTPException, json_errors_for_api)


def json_errors_for_api(error: HTTPException) -> Any:
    """API clients get JSON for 404/405 and friends; dashboard pages keep HTML."""
    if not request.path.startswith(API_PREFIX + "/"):
        return error
    return jsonify(error=error.description), error.code


def load_query(schema: Schema) -> dict[str, Any]:
    return schema.load(args_without_store())


def load_body(schema: Schema) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return schema.load(body)


def command_result(label_id: str, message: OutboxMessage | None) -> dict[str, Any]:
    if message is None:
        return {"queued": False, "label_id": label_id}
    return {
        "queued": True,
        "outbox_id": message.id,
        "label_id": label_id,
        "kind": message.kind,
        "seq": message.seq,
        "priority": message.priority,
        "state": message.state,
    }


def run_label_command(action: Any) -> Any:
    """Map the commands' errors to HTTP: unknown label 404, unrenderable label 422."""
    try:
        return action()
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0]) if exc.args else "not found") from exc
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc


# --- reading ---------------------------------------------------------------------------


@bp.get("/summary")
@auth.api_auth()
def summary() -> Any:
    """Store overview: label states, base stations, outbox depth, incidents.
    ---
    get:
      tags: [overview]
      summary: Counts for the overview page, polled while long operations run
      responses:
        200:
          description: current counts
          content:
            application/json:
              schema: SummarySchema
        401: Unauthorized
    """
    return SummarySchema().dump(queries.summary(get_session(), current_store_id()).as_dict())


@bp.get("/labels")
@auth.api_auth()
def list_labels() -> Any:
    """Labels, filtered and paged.
    ---
    get:
      tags: [labels]
      summary: List labels with filters (state, base station, template, text) and paging
      parameters:
        - in: query
          schema: LabelQuerySchema
      responses:
        200:
          description: one page of labels, ordered by label id
          content:
            application/json:
              schema: LabelPageSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(LabelQuerySchema())
    limit, offset = args.pop("limit"), args.pop("offset")
    page = queries.list_labels(
        get_session(), queries.LabelFilters(**args), limit, offset, current_store_id()
    )
    return LabelPageSchema().dump(page)


@bp.get("/labels/<label_id>")
@auth.api_auth()
def get_label(label_id: str) -> Any:
    """One label with its last outbox rows.
    ---
    get:
      tags: [labels]
      summary: A label's state, product, telemetry and last 10 outbox rows
      parameters:
        - LabelId
      responses:
        200:
          description: the label
          content:
            application/json:
              schema: LabelDetailSchema
        401: Unauthorized
        404: NotFound
    """
    session = get_session()
    detail = queries.label_detail(session, label_id, current_store_id())
    if detail is None:
        raise ApiError(404, f"unknown label {label_id!r}")
    detail["outbox"] = queries.label_outbox_history(session, label_id)
    return LabelDetailSchema().dump(detail)


@bp.get("/labels/<label_id>/preview.png")
@auth.api_auth()
def label_preview(label_id: str) -> Any:
    """What the label shows (or will show once delivered), as a PNG.
    ---
    get:
      tags: [labels]
      summary: Rendered preview of the label
      parameters:
        - LabelId
      responses:
        200:
          description: PNG image
          content:
            image/png:
              schema: {type: string, format: binary}
        401: Unauthorized
        404: NotFound
        422: Unprocessable
    """
    require_in_store(Label, label_id, "label")
    png = run_label_command(
        lambda: commands.label_preview_png(get_session(), label_id, store_settings())
    )
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"  # prices change; never show a stale one
    return response


@bp.get("/base-stations")
@auth.api_auth()
def list_base_stations() -> Any:
    """Base stations.
    ---
    get:
      tags: [base stations]
      summary: Every base station with online state, queue and label count
      responses:
        200:
          description: the base stations
          content:
            application/json:
              schema: BaseStationListSchema
        401: Unauthorized
    """
    return BaseStationListSchema().dump(
        {"items": queries.list_base_stations(get_session(), current_store_id())}
    )


@bp.get("/incidents")
@auth.api_auth()
def list_incidents() -> Any:
    """Recent problems, newest first.
    ---
    get:
      tags: [incidents]
      summary: Incidents with an optional kind filter, and counts by kind
      parameters:
        - in: query
          schema: IncidentQuerySchema
      responses:
        200:
          description: one page of incidents
          content:
            application/json:
              schema: IncidentPageSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(IncidentQuerySchema())
    session = get_session()
    page = queries.list_incidents(
        session, args.get("kind"), args["limit"], args["offset"], current_store_id()
    )
    body = {
        "items": page.items,
        "counts": queries.incident_counts(session, current_store_id()),
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }
    return IncidentPageSchema().dump(body)


# --- label actions ---------------------------------------------------------------------


@bp.post("/labels/<label_id>/repush")
@auth.api_auth()
def repush(label_id: str) -> Any:
    """Render the label now and queue it first in line.
    ---
    post:
      tags: [labels]
      summary: Re-push the label's image at manager priority, even if unchanged
      parameters:
        - LabelId
      responses:
        202:
          description: queued; the worker sends it
          content:
            application/json:
              schema: CommandQueuedSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
        422: Unprocessable
    """
    require_in_store(Label, label_id, "label")
    message = run_label_command(
        lambda: commands.repush_label(get_session(), label_id, store_settings())
    )
    return CommandQueuedSchema().dump(command_result(label_id, message)), 202


@bp.post("/labels/<label_id>/flash")
@auth.api_auth()
def flash_led(label_id: str) -> Any:
    """Flash the label's LED so a store assistant finds it.
    ---
    post:
      tags: [labels]
      summary: Queue an LED flash
      parameters:
        - LabelId
      requestBody:
        required: true
        content:
          application/json:
            schema: FlashRequestSchema
      responses:
        202:
          description: queued; the worker sends it
          content:
            application/json:
              schema: CommandQueuedSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
    """
    require_in_store(Label, label_id, "label")
    args = load_body(FlashRequestSchema())
    message = run_label_command(
        lambda: commands.flash_led(
            get_session(), label_id, args["colour"], args["pattern"], args["seconds"]
        )
    )
    return CommandQueuedSchema().dump(command_result(label_id, message)), 202


# --- ERP sync runs ---------------------------------------------------------------------


@bp.get("/sync-runs")
@auth.api_auth()
def list_sync_runs() -> Any:
    """ERP sync runs, newest first.
    ---
    get:
      tags: [sync]
      summary: Sync runs with counts, alert and error; filter by status, paged
      parameters:
        - in: query
          schema: SyncRunQuerySchema
      responses:
        200:
          description: one page of sync runs
          content:
            application/json:
              schema: SyncRunPageSchema
        400: BadRequest
        401: Unauthorized
    """
    args = load_query(SyncRunQuerySchema())
    page = queries.list_sync_runs(
        get_session(), args.get("status"), args["limit"], args["offset"], current_store_id()
    )
    return SyncRunPageSchema().dump(page)


@bp.get("/sync-runs/<int:run_id>")
@auth.api_auth()
def get_sync_run(run_id: int) -> Any:
    """One sync run with its dead letters (the records it refused).
    ---
    get:
      tags: [sync]
      summary: A sync run, its progress and a page of its dead letters
      parameters:
        - SyncRunId
        - in: query
          schema: PagingSchema
      responses:
        200:
          description: the run
          content:
            application/json:
              schema: SyncRunDetailSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
    """
    args = load_query(PagingSchema())
    session = get_session()
    detail = queries.sync_run_detail(session, run_id, current_store_id())
    if detail is None:
        raise ApiError(404, f"there is no sync run #{run_id}")
    detail["dead_letters"] = queries.list_dead_letters(
        session, run_id, args["limit"], args["offset"]
    )
    return SyncRunDetailSchema().dump(detail)


@bp.post("/sync-runs")
@auth.api_auth()
def request_sync() -> Any:
    """Ask the worker for a sync now.
    ---
    post:
      tags: [sync]
      summary: Request a sync; the worker runs it (the web process never does)
      requestBody:
        required: false
        content:
          application/json:
            schema: SyncRequestSchema
      responses:
        202:
          description: requested; poll the run for progress
          content:
            application/json:
              schema: SyncRunSchema
        400: BadRequest
        401: Unauthorized
        409:
          description: a sync is already requested or running
          content:
            application/json:
              schema: ErrorSchema
    """
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object (or empty)")
    args = SyncRequestSchema().load(body)
    session = get_session()
    try:
        run = sync_requests.request_sync(session, store_settings(), full=args["full"])
    except sync_requests.SyncAlreadyActive as exc:
        raise ApiError(409, str(exc)) from exc
    return SyncRunSchema().dump(queries.sync_run_detail(session, run.id)), 202


@bp.post("/sync-runs/<int:run_id>/retry")
@auth.api_auth()
def retry_sync_run(run_id: int) -> Any:
    """Re-run a failed (or skipped) sync.
    ---
    post:
      tags: [sync]
      summary: Request a new run of a failed or skipped one (same feed, mode and since)
      parameters:
        - SyncRunId
      responses:
        202:
          description: requested; the new run names the failed one in retry_of
          content:
            application/json:
              schema: SyncRunSchema
        401: Unauthorized
        404: NotFound
        409:
          description: the run neither failed nor was skipped, or a sync is already active
          content:
            application/json:
              schema: ErrorSchema
    """
    session = get_session()
    try:
        run = sync_requests.request_retry(session, run_id)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from exc
    except (ValueError, sync_requests.SyncAlreadyActive) as exc:
        raise ApiError(409, str(exc)) from exc
    return SyncRunSchema().dump(queries.sync_run_detail(session, run.id)), 202


# --- users -----------------------------------------------------------------------------


def _user_body(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "advertiser_id": user.advertiser_id,
        "store_id": user.store_id,
        "disabled": user.disabled,
        "has_api_token": user.api_token_hash is not None,
    }


@bp.get("/users")
@auth.api_auth(roles=["admin"])
def list_users() -> Any:
    """Users (admin only).
    ---
    get:
      tags: [users]
      summary: Every dashboard and API user
      responses:
        200:
          description: the users
          content:
            application/json:
              schema: UserListSchema
        401: Unauthorized
        403: Forbidden
    """
    listed = users.list_users(get_session(), within_store=g.api_user.store_id)
    items = [_user_body(user) for user in listed]
    return UserListSchema().dump({"items": items})


@bp.post("/users")
@auth.api_auth(roles=["admin"])
def create_user() -> Any:
    """Create a user (admin only).
    ---
    post:
      tags: [users]
      summary: Create a dashboard and API user
      description: >
        A buyer needs `advertiser_id`, the advertiser whose campaigns they see; no other
        role takes one. `store_id` limits the user to one store; without it they are head
        office and see every store. A store's own admin creates users of that store only
        (403 for another).
      requestBody:
        required: true
        content:
          application/json:
            schema: UserCreateSchema
      responses:
        201:
          description: created
          content:
            application/json:
              schema: UserSchema
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        409:
          description: the username is taken
          content:
            application/json:
              schema: ErrorSchema
    """
    args = load_body(UserCreateSchema())
    session = get_session()
    store_id = _store_for_new_user(args["store_id"])
    try:
        user = users.add_user(
            session,
            g.api_user.username,
            args["username"],
            args["password"],
            args["role"],
            args["advertiser_id"],
            store_id,
        )
    except auth.DuplicateUser as exc:
        raise ApiError(409, str(exc)) from exc
    except auth.UserError as exc:
        raise ApiError(400, str(exc)) from exc
    session.commit()
    return UserSchema().dump(_user_body(user)), 201


def _store_for_new_user(asked: str | None) -> str | None:
    """A store's own admin creates users of that store only; head office chooses."""
    own = g.api_user.store_id
    if own is None:
        return asked
    if asked not in (None, own):
        raise ApiError(403, f"this account manages the users of store {own} only")
    return own


@bp.post("/users/<username>/token")
@auth.api_auth(roles=["admin"])
def issue_token(username: str) -> Any:
    """Issue a new API token for a user (admin only); replaces the old one.
    ---
    post:
      tags: [users]
      summary: Issue an API token, shown only in this response
      parameters:
        - in: path
          name: username
          required: true
          schema: {type: string}
      responses:
        201:
          description: the token
          content:
            application/json:
              schema:
                type: object
                properties:
                  token: {type: string}
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    session = get_session()
    try:
        users.get_user(session, username, within_store=g.api_user.store_id)
        token = auth.issue_api_token(session, username)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from exc
    users.record_token_issued(session, g.api_user.username, username)
    session.commit()
    return jsonify(token=token), 201


def _user_change(username: str, change: Any) -> Any:
    """Run one change of `users.py` and commit it: 404 unknown user (or one of another
    store, to a store's own admin), 409 refused."""
    session = get_session()
    try:
        users.get_user(session, username, within_store=g.api_user.store_id)
        user = change(session)
    except users.UnknownUser as exc:
        raise ApiError(404, str(exc)) from exc
    except auth.UserError as exc:
        raise ApiError(409, str(exc)) from exc
    session.commit()
    return UserSchema().dump(_user_body(user)) if user is not None else ("", 204)


def _self_or_admin(username: str) -> None:
    if g.api_user.role != "admin" and g.api_user.username != username:
        raise ApiError(403, "only an admin may change another user")


@bp.post("/users/<username>/disable")
@auth.api_auth(roles=["admin"])
def disable_user(username: str) -> Any:
    """Disable a user (admin only): their sessions and token stop working at once.
    ---
    post:
      tags: [users]
      summary: Disable a user
      parameters:
        - {in: path, name: username, required: true, schema: {type: string}}
      responses:
        200: {description: the user, content: {application/json: {schema: UserSchema}}}
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409:
          description: refused, e.g. the last enabled admin
          content: {application/json: {schema: ErrorSchema}}
    """
    actor = g.api_user.username
    return _user_change(
        username, lambda session: users.set_disabled(session, actor, username, True)
    )


@bp.post("/users/<username>/enable")
@auth.api_auth(roles=["admin"])
def enable_user(username: str) -> Any:
    """Enable a disabled user (admin only).
    ---
    post:
      tags: [users]
      summary: Enable a user
      parameters:
        - {in: path, name: username, required: true, schema: {type: string}}
      responses:
        200: {description: the user, content: {application/json: {schema: UserSchema}}}
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    actor = g.api_user.username
    return _user_change(
        username, lambda session: users.set_disabled(session, actor, username, False)
    )


@bp.delete("/users/<username>")
@auth.api_auth(roles=["admin"])
def delete_user(username: str) -> Any:
    """Delete a user (admin only); the audit log keeps what they did.
    ---
    delete:
      tags: [users]
      summary: Delete a user
      parameters:
        - {in: path, name: username, required: true, schema: {type: string}}
      responses:
        204: {description: deleted}
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409:
          description: refused, e.g. the last enabled admin
          content: {application/json: {schema: ErrorSchema}}
    """
    actor = g.api_user.username
    return _user_change(username, lambda session: users.delete_user(session, actor, username))


@bp.post("/users/<username>/password")
@auth.api_auth(roles=auth.ROLES)
def change_password(username: str) -> Any:
    """Set a user's password (an admin for anyone, every user for themselves); ends the
    user's sessions.
    ---
    post:
      tags: [users]
      summary: Change a password
      parameters:
        - {in: path, name: username, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema: PasswordChangeSchema
      responses:
        200: {description: the user, content: {application/json: {schema: UserSchema}}}
        400: BadRequest
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    _self_or_admin(username)
    password = load_body(PasswordChangeSchema())["password"]
    actor = g.api_user.username
    return _user_change(
        username, lambda session: users.change_password(session, actor, username, password)
    )


@bp.post("/users/<username>/logout-all")
@auth.api_auth(roles=auth.ROLES)
def log_out_everywhere(username: str) -> Any:
    """End every session of a user and revoke their API token (an admin for anyone, every
    user for themselves).
    ---
    post:
      tags: [users]
      summary: Log a user out everywhere
      parameters:
        - {in: path, name: username, required: true, schema: {type: string}}
      responses:
        200: {description: the user, content: {application/json: {schema: UserSchema}}}
        401: Unauthorized
        403: Forbidden
        404: NotFound
    """
    _self_or_admin(username)
    actor = g.api_user.username
    return _user_change(
        username, lambda session: users.log_out_everywhere(session, actor, username)
    )


# --- health ----------------------------------------------------------------------------


@bp.get("/healthz")
def healthz() -> Any:
    """Liveness for load balancers; no login needed.
    ---
    get:
      tags: [health]
      summary: The web process runs and reaches its database
      security: []
      responses:
        200:
          description: healthy
          content:
            application/json:
              schema: HealthSchema
        503:
          description: the database does not answer
          content:
            application/json:
              schema: HealthSchema
    """
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy", reported not raised
        return jsonify(status="unhealthy", database=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
