"""/api/v1 routes that set a store up: base stations, and labels linked to products.

Each view's docstring carries its OpenAPI operation; the bodies are validated by the
marshmallow schemas below, which the OpenAPI document is generated from.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from marshmallow import Schema, fields, validate

from esl_controller.esl import label_links, link_import, stations
from esl_controller.topic_levels import MAX_ID_LENGTH
from esl_controller.web import auth
from esl_controller.web.api import ApiError, api_blueprint, load_body
from esl_controller.web.bounded_fields import BoundedInteger
from esl_controller.web.database import get_session
from esl_controller.web.store_scope import store_settings

bp = api_blueprint("stations_api", __name__)


class StationCreateSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ID_LENGTH))
    driver = fields.String(
        load_default="mqtt", validate=validate.Length(min=1, max=40), metadata={"example": "oepl"}
    )
    name = fields.String(load_default="", validate=validate.Length(max=120))
    options = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        load_default=dict,
        metadata={"description": 'driver options, e.g. {"url": "http://10.0.0.5"} for oepl'},
    )


class StationRenameSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(max=120))


class StationCreatedSchema(Schema):
    id = fields.String()
    driver = fields.String()
    name = fields.String()
    store_id = fields.String()


class LabelLinkSchema(Schema):
    gtin = fields.String(required=True, validate=validate.Length(min=8, max=14))
    template = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": 'default "auto": price, promo while one runs, not-for-sale'},
    )
    relink = fields.Boolean(
        load_default=False,
        metadata={"description": "confirm moving a label that shows another product"},
    )


class LabelLinkedSchema(Schema):
    label_id = fields.String()
    product_id = BoundedInteger(allow_none=True)
    template = fields.String()
    state = fields.String()


class ImportRowSchema(Schema):
    line = BoundedInteger()
    label_id = fields.String()
    gtin = fields.String()
    ok = fields.Boolean()
    error = fields.String(allow_none=True, metadata={"description": "why the row was refused"})


class ImportReportSchema(Schema):
    linked = BoundedInteger()
    refused = BoundedInteger()
    rows = fields.List(fields.Nested(ImportRowSchema))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _created(row: Any) -> dict[str, Any]:
    return StationCreatedSchema().dump(
        {"id": row.id, "driver": row.driver, "name": row.name, "store_id": row.store_id}
    )


@bp.post("/base-stations")
@auth.api_auth()
def add_base_station() -> Any:
    """Register a base station or access point.
    ---
    post:
      tags: [base stations]
      summary: Add a station of any installed driver; the worker links it within seconds
      requestBody:
        content:
          application/json:
            schema: StationCreateSchema
      responses:
        201:
          description: the station
          content:
            application/json:
              schema: StationCreatedSchema
        400: BadRequest
        401: Unauthorized
    """
    body = load_body(StationCreateSchema())
    try:
        row = stations.add_station(
            get_session(),
            store_settings(),
            body["id"],
            body["driver"],
            body["options"],
            body["name"],
        )
    except stations.StationError as exc:
        raise ApiError(400, str(exc)) from exc
    return _created(row), 201


@bp.patch("/base-stations/<station_id>")
@auth.api_auth()
def rename_base_station(station_id: str) -> Any:
    """Rename a base station.
    ---
    patch:
      tags: [base stations]
      summary: Give a station a name people recognise
      parameters:
        - in: path
          name: station_id
          required: true
          schema: {type: string}
      requestBody:
        content:
          application/json:
            schema: StationRenameSchema
      responses:
        200:
          description: the station
          content:
            application/json:
              schema: StationCreatedSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
    """
    body = load_body(StationRenameSchema())
    try:
        row = stations.rename_station(get_session(), store_settings(), station_id, body["name"])
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0])) from exc
    return _created(row)


@bp.delete("/base-stations/<station_id>")
@auth.api_auth()
def remove_base_station(station_id: str) -> Any:
    """Remove a base station that has no labels.
    ---
    delete:
      tags: [base stations]
      summary: Remove a station (its labels must be moved or removed first)
      parameters:
        - in: path
          name: station_id
          required: true
          schema: {type: string}
      responses:
        204: {description: removed}
        401: Unauthorized
        404: NotFound
        409: {description: the station still has labels}
    """
    try:
        stations.remove_station(get_session(), store_settings(), station_id)
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0])) from exc
    except stations.StationError as exc:
        raise ApiError(409, str(exc)) from exc
    return "", 204


def _linked(row: Any) -> dict[str, Any]:
    return LabelLinkedSchema().dump(
        {
            "label_id": row.id,
            "product_id": row.product_id,
            "template": row.template,
            "state": row.state,
        }
    )


@bp.post("/labels/<label_id>/link")
@auth.api_auth()
def link_label(label_id: str) -> Any:
    """Link a label to a product.
    ---
    post:
      tags: [labels]
      summary: Show the product with this GTIN on the label from its next update
      parameters:
        - LabelId
      requestBody:
        content:
          application/json:
            schema: LabelLinkSchema
      responses:
        200:
          description: the label, waiting for its new image
          content:
            application/json:
              schema: LabelLinkedSchema
        400: BadRequest
        401: Unauthorized
        404: NotFound
        409: {description: the label shows another product; send relink true to move it}
        422: {description: the product or template does not fit (the message says why)}
    """
    body = load_body(LabelLinkSchema())
    try:
        row = label_links.link_label(
            get_session(),
            store_settings(),
            label_id,
            body["gtin"],
            body["template"],
            actor=g.api_user.username,
            relink=body["relink"],
        )
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0])) from exc
    except label_links.AlreadyLinked as exc:
        raise ApiError(409, str(exc)) from exc
    except label_links.LinkError as exc:
        raise ApiError(422, str(exc)) from exc
    return _linked(row)


@bp.post("/labels/<label_id>/unlink")
@auth.api_auth()
def unlink_label(label_id: str) -> Any:
    """Unlink a label from its product.
    ---
    post:
      tags: [labels]
      summary: The label stops showing its product
      parameters:
        - LabelId
      responses:
        200:
          description: the label, now unbound
          content:
            application/json:
              schema: LabelLinkedSchema
        401: Unauthorized
        404: NotFound
    """
    try:
        row = label_links.unlink_label(
            get_session(), store_settings(), label_id, actor=g.api_user.username
        )
    except LookupError as exc:
        raise ApiError(404, str(exc.args[0])) from exc
    return _linked(row)


@bp.post("/labels/import")
@auth.api_auth()
def import_label_links() -> Any:
    """Link labels from a CSV file.
    ---
    post:
      tags: [labels]
      summary: "Rows of label id; GTIN; template (';' or ','; UTF-8), each judged alone"
      parameters:
        - in: query
          name: relink
          schema: {type: boolean}
          description: move labels that already show another product
      requestBody:
        content:
          text/csv:
            schema: {type: string}
      responses:
        200:
          description: what each row became; refused rows say why
          content:
            application/json:
              schema: ImportReportSchema
        401: Unauthorized
        422: {description: the file cannot be read at all; nothing was changed}
    """
    session = get_session()
    try:
        report = link_import.import_links(
            session,
            store_settings(),
            request.get_data(),
            actor=g.api_user.username,
            relink=request.args.get("relink", "").lower() in ("1", "true", "yes"),
        )
    except link_import.ImportFileError as exc:
        session.rollback()
        raise ApiError(422, str(exc)) from exc
    return ImportReportSchema().dump(
        {
            "linked": report.linked,
            "refused": len(report.errors),
            "rows": [
                {
                    "line": row.line,
                    "label_id": row.label_id,
                    "gtin": row.gtin,
                    "ok": row.ok,
                    "error": row.error,
                }
                for row in report.results
            ],
        }
    )
