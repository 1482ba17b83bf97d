"""One database session per request, opened on first use and closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlmodel import Session

from esl_controller.config import Settings


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = Session(current_app.extensions["esl"].engine, expire_on_commit=False)
    return g.db_session


def get_settings() -> Settings:
    return current_app.extensions["esl"].settings


def close_session(_error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
