"""Limits every request meets before a view reads it: size, JSON shape, path integers.

- A request body is at most MAX_REQUEST_BYTES (a media upload plus its multipart framing);
  anything else (JSON, forms) at most MAX_JSON_BYTES. Werkzeug stops reading there and the
  answer is 413, as JSON for API routes.
- A JSON body is refused with 400 when it nests deeper than MAX_JSON_DEPTH or holds a
  number with too many digits, before marshmallow (or any view) sees it. A body that is not
  JSON at all is left to the view, which answers (and, for triggers, records) it itself.
  A view marked `parses_its_own_body` (the trigger intake: 8 KB and 4 levels, each refusal
  recorded in the trigger log) is left its body unread, under the same size limit.
- So is a JSON body whose text is not valid Unicode (a lone surrogate such as `\ud800`,
  which no database can store) or holds a NUL character (`wire_json.unstorable_text`).
- An `<int:...>` path argument beyond 64 bits is a 404, not a 500 from the database driver.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from esl_controller import wire_json
from esl_controller.signage.media import MAX_MEDIA_BYTES
from esl_controller.web.bounded_fields import INT64_MAX

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around one uploaded file
MAX_REQUEST_BYTES = MAX_MEDIA_BYTES + MULTIPART_OVERHEAD
# A playlist's 200,000 characters, every one escaped as \uXXXX, still fit.
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_OWN_BODY = "parses_its_own_body"
View = TypeVar("View", bound=Callable[..., Any])


class JsonBodyRefused(ValueError):
    """A JSON body too deep, too large or with too long a number."""


class _NotJson(ValueError):
    """Not JSON at all: the view decides what that means."""


class Int64Converter(IntegerConverter):
    """`<int:...>` of at most 20 digits, so converting it is cheap; the 64-bit bound is
    checked after routing (`refuse_out_of_range_ids`). A converter that refused the value
    itself would make werkzeug answer PUT with 405 because the GET rule "matched"."""

    regex = r"\d{1,20}"


def install_converters(app: Flask) -> None:
    """Before any blueprint registers a route: the converter is bound when the rule is."""
    app.url_map.converters["int"] = Int64Converter


def init_app(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.url_value_preprocessor(refuse_out_of_range_ids)
    app.before_request(guard_request_body)
    app.register_error_handler(RequestEntityTooLarge, too_large)


def refuse_out_of_range_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """No row has an id beyond 64 bits: a 404, before the database driver overflows."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and value > INT64_MAX:
            raise NotFound(f"there is no such {name}: ids are at most {INT64_MAX}")


def parses_its_own_body(view: View) -> View:
    """Mark a view that holds its JSON body to tighter caps itself and records what it
    refuses (the trigger intake): `guard_request_body` leaves that body unread."""
    setattr(view, _OWN_BODY, True)
    return view


def guard_request_body() -> Response | tuple[Response, int] | None:
    if request.method not in _BODY_METHODS:
        return None
    if request.mimetype != "multipart/form-data":
        request.max_content_length = MAX_JSON_BYTES
    if request.mimetype in _FORM_TYPES or not _carries_json():
        return None
    if getattr(current_app.view_functions.get(request.endpoint or ""), _OWN_BODY, False):
        return None
    body = request.get_data(cache=True)  # 413 here when over the limit
    if not body:
        return None
    try:
        document = wire_json.decode_json(
            "request body",
            body,
            JsonBodyRefused,
            max_bytes=MAX_JSON_BYTES,
            max_depth=MAX_JSON_DEPTH,
            syntax_error=_NotJson,
        )
    except _NotJson:
        return None
    except JsonBodyRefused as exc:
        message = str(exc).removeprefix("request body: ")
        return jsonify(error=f"refused: {message}", errors={"body": [message]}), 400
    if not body.isascii() or b"\\u" in body:
        # the views read the judged body, its text in NFC (one spelling of "Brânză")
        request._cached_data = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return None


def _carries_json() -> bool:
    """JSON by content type, or any body sent to the API (views there parse raw bodies)."""
    return request.is_json or request.path.startswith("/api/")


def too_large(error: RequestEntityTooLarge) -> Any:
    limit = request.max_content_length or MAX_REQUEST_BYTES
    message = f"the request body is larger than {limit:,} bytes"
    if request.content_length:
        message = f"the request body is {request.content_length:,} bytes; at most {limit:,}"
    if request.path.startswith("/api/"):
        return jsonify(error=message), 413
    return render_template("error.html", title="Too large", message=message), 413


class UploadTooLarge(ValueError):
    """An uploaded file over MAX_MEDIA_BYTES."""


def read_upload(stream: IO[bytes]) -> bytes:
    """The uploaded file's bytes, after checking its spooled size (never reading an
    oversized one whole into memory)."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > MAX_MEDIA_BYTES:
        raise UploadTooLarge(
            f"the file is {size:,} bytes; the limit is {MAX_MEDIA_BYTES:,} bytes "
            f"({MAX_MEDIA_BYTES / 1_048_576:g} MB)"
        )
    return stream.read()
