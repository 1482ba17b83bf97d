"""Styled pages for "not found" and "server error": HTML with a way back to the user's start
page for the dashboard, JSON for API clients."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import InternalServerError, NotFound

from esl_controller.web.api import API_PREFIX


def init_app(app: Flask) -> None:
    app.register_error_handler(NotFound, not_found)
    app.register_error_handler(InternalServerError, server_error)


def wants_json() -> bool:
    return request.path.startswith(API_PREFIX + "/")


def not_found(error: NotFound) -> Any:
    if wants_json():
        return jsonify(error=error.description), 404
    return render_template("not_found.html"), 404


def server_error(error: InternalServerError) -> Any:
    # The cause is logged by Flask; the page shows nothing of it (it may hold personal data).
    if wants_json():
        return jsonify(error="Internal server error."), 500
    return render_template("server_error.html"), 500
