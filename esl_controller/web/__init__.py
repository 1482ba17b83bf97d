"""The web process: dashboard and JSON API over the store database.

It never talks MQTT and never runs scheduled jobs; dashboard actions write outbox rows
that the worker publishes. Built by `create_app()`, one `init_app(app)` per subsystem.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from esl_controller import db
from esl_controller.config import Settings

SECRET_KEY_FILE = "secret_key"


@dataclass(frozen=True)
class WebContext:
    """What every request needs, kept in `app.extensions["esl"]`."""

    settings: Settings
    engine: Engine


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Flask:
    """The app; from the environment (a WSGI server's factory call) a weak ESL_SECRET_KEY is
    refused with InsecureSettings. Callers passing `settings` check it themselves."""
    if settings is None:
        settings = Settings.from_env()
        settings.require_secure_secret_key()
    if engine is None:
        engine = db.make_engine(
            settings.resolved_database_url, settings.db_pool_size, settings.db_pool_overflow
        )
        db.init_db(engine)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key or load_or_create_secret_key(settings.data_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
    )
    app.extensions["esl"] = WebContext(settings=settings, engine=engine)
    if settings.trusted_proxies > 0:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from esl_controller.web import (
        api,
        auth,
        catalogue_api,
        catalogue_views,
        chain_views,
        dashboard,
        database,
        error_pages,
        i18n,
        link_import_views,
        media_views,
        openapi,
        plays_api,
        portal,
        reports_api,
        request_limits,
        revenue_views,
        screen_api,
        screen_slides,
        screen_views,
        screens_api,
        security_headers,
        shelf_views,
        signage_api,
        signage_views,
        station_views,
        stations_api,
        store_scope,
        sync_views,
        user_views,
    )

    request_limits.install_converters(app)
    request_limits.init_app(app)  # first: its limits hold before CSRF reads any form
    database.init_app(app)
    auth.init_app(app)
    store_scope.init_app(app)  # after auth: the store depends on who asks
    error_pages.init_app(app)
    i18n.init_app(app)  # before the pages: every template may use its words and filters
    dashboard.init_app(app)
    chain_views.init_app(app)
    sync_views.init_app(app)
    catalogue_views.init_app(app)
    signage_views.init_app(app)
    media_views.init_app(app)
    api.init_app(app)
    signage_api.init_app(app)
    stations_api.init_app(app)
    catalogue_api.init_app(app)
    station_views.init_app(app)
    shelf_views.init_app(app)
    link_import_views.init_app(app)
    plays_api.init_app(app)
    screen_api.init_app(app)
    screen_views.init_app(app)
    screens_api.init_app(app)
    reports_api.init_app(app)
    revenue_views.init_app(app)
    screen_slides.init_app(app)
    user_views.init_app(app)
    portal.init_app(app)
    openapi.init_app(app)
    security_headers.init_app(app)
    return app


def load_or_create_secret_key(data_dir: Path) -> str:
    """The key signing session cookies, generated once so logins survive restarts.

    O_EXCL makes the first of several starting web workers the only writer; the others
    read what it wrote.
    """
    path = data_dir / SECRET_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if not key:
            raise RuntimeError(f"{path} is empty; delete it to generate a new key") from None
        return key
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
