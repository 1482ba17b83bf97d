"""Who may do what: dashboard logins (flask-login sessions) and API tokens, by role.

Passwords are stored as werkzeug hashes; API tokens are random and only their sha256
is stored, so a leaked database does not leak working tokens. Dashboard forms carry a
CSRF token; the JSON API accepts either the session cookie (then POSTs must send the
`X-CSRFToken` header) or `Authorization: Bearer <token>` (no cookie, so no CSRF risk).

A login session carries the user's session epoch; raising the epoch in the database (log
out everywhere, a new password, disabling) ends every session at its next request. Logins
are throttled (login_throttle.py). Buyers land on their portal; anyone who reaches a page
their role may not see gets a styled 403 with a way back.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select
from sqlmodel import Session
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from esl_controller.clock import utcnow
from esl_controller.models import Advertiser, Store, User
from esl_controller.web import login_throttle
from esl_controller.web.database import get_session
from esl_controller.web.i18n import N_
from esl_controller.web.i18n import gettext_ as _

# Staff use the dashboard and the whole API; machine roles get single endpoints only.
STAFF_ROLES = ("admin", "manager")
SENSOR_ROLE = "sensor"  # may only POST /api/v1/triggers
BUYER_ROLE = "buyer"  # an advertiser's account: its own campaigns' reports, nothing else
PLAYER_ROLE = "player"  # a screen (user name = player id): may only POST its own plays
ROLES = (*STAFF_ROLES, SENSOR_ROLE, BUYER_ROLE, PLAYER_ROLE)
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# Checked against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

EPOCH_KEY = "epoch"  # the user's session epoch when this session logged in

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()

View = TypeVar("View", bound=Callable[..., Any])


class UserError(ValueError):
    """A user cannot be created as asked; the message says why."""


class DuplicateUser(UserError):
    """The username is taken."""


@dataclass(frozen=True)
class SessionUser(UserMixin):
    """The logged-in user as flask-login sees it: plain values, no live ORM object."""

    id: int
    username: str
    role: str
    advertiser_id: int | None = None  # set for buyers only
    store_id: str | None = None  # None: head office, every store

    @classmethod
    def of(cls, user: User) -> SessionUser:
        assert user.id is not None
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            advertiser_id=user.advertiser_id,
            store_id=user.store_id,
        )

    def get_id(self) -> str:
        return str(self.id)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "error"
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(Forbidden, forbidden)
    app.add_template_global(home_url, "home_url")


@login_manager.user_loader
def load_user(user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or user.disabled or flask_session.get(EPOCH_KEY) != user.session_epoch:
        return None
    return SessionUser.of(user)


# --- users and tokens ------------------------------------------------------------------


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    advertiser_id: int | None = None,
    store_id: str | None = None,
) -> User:
    """Add a user; raise UserError for a bad name, a taken name, a short password or role.

    A buyer belongs to exactly one advertiser (`advertiser_id`); no other role has one.
    A user with a `store_id` sees that store only; without one, every store (head office).
    """
    if not USERNAME_PATTERN.match(username):
        raise UserError("username must be 1-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    _check_advertiser(session, role, advertiser_id)
    if store_id is not None and session.get(Store, store_id) is None:
        raise UserError(f"there is no store {store_id!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if find_user(session, username) is not None:
        raise DuplicateUser(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=generate_password_hash(password),
        role=role,
        advertiser_id=advertiser_id,
        store_id=store_id,
    )
    session.add(user)
    session.flush()
    return user


def _check_advertiser(session: Session, role: str, advertiser_id: int | None) -> None:
    if role != BUYER_ROLE:
        if advertiser_id is not None:
            raise UserError(
                f"only a {BUYER_ROLE} belongs to an advertiser; this user's role is {role}"
            )
        return
    if advertiser_id is None:
        raise UserError(f"a {BUYER_ROLE} needs the advertiser it buys for (advertiser_id)")
    if session.get(Advertiser, advertiser_id) is None:
        raise UserError(f"there is no advertiser #{advertiser_id}")


def advertiser_scope(user: SessionUser) -> int | None:
    """The only advertiser whose campaigns `user` may see, or None for staff (all of them).

    A buyer without an advertiser is scoped to an id no campaign has, never to everything.
    """
    if user.role == BUYER_ROLE:
        return user.advertiser_id if user.advertiser_id is not None else -1
    return None


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def check_password(session: Session, username: str, password: str) -> User | None:
    user = find_user(session, username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def issue_api_token(session: Session, username: str) -> str:
    """Give the user a new API token (replacing any old one); return it, shown only once."""
    user = find_user(session, username)
    if user is None:
        raise LookupError(f"unknown user {username!r}")
    token = secrets.token_urlsafe(32)
    user.api_token_hash = _token_digest(token)
    session.add(user)
    session.flush()
    return token


def authenticate_token(session: Session, token: str) -> User | None:
    if not token:
        return None
    user = session.scalars(select(User).where(User.api_token_hash == _token_digest(token))).first()
    return None if user is None or user.disabled else user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- guarding views --------------------------------------------------------------------


def login_required(view: View) -> View:
    """Dashboard views: a logged-in session of store staff, else off to the login page
    and back. A buyer asking for the overview is sent to their portal instead."""
    return roles_required(STAFF_ROLES)(view)


def roles_required(roles: Iterable[str]) -> Callable[[View], View]:
    """Dashboard views for some roles only; anyone else logged in gets the styled 403."""
    allowed = tuple(roles)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                if current_user.role == BUYER_ROLE and request.endpoint == "dashboard.overview":
                    return redirect(home_url())
                raise Forbidden(_refusal(allowed))
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def logged_in(view: View) -> View:
    """Dashboard views for any logged-in user, whatever the role (their own account)."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def _refusal(allowed: tuple[str, ...]) -> str:
    if allowed == ("admin",):
        return N_("Only an admin may see this page.")
    if set(allowed) <= set(STAFF_ROLES):
        return N_("This page is for store staff.")
    return N_("Your account may not see this page.")


def home_url() -> str:
    """Where a user starts: buyers on their campaigns, staff on the overview, machine
    accounts (which have no pages) on their account page."""
    if not current_user.is_authenticated:
        return url_for("auth.login")
    if current_user.role == BUYER_ROLE:
        return url_for("portal.campaigns")
    if current_user.role in STAFF_ROLES:
        return url_for("dashboard.overview")
    return url_for("people.account")


def forbidden(error: Forbidden) -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error=error.description), 403
    return render_template("forbidden.html", message=_(error.description)), 403


def api_auth(roles: Iterable[str] = STAFF_ROLES) -> Callable[[View], View]:
    """API views: a Bearer token or a session cookie of a user with one of `roles`.

    A request carrying an Authorization header is judged by it alone, never by a cookie.
    The user is left in `g.api_user`.
    """
    allowed = tuple(roles)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = _api_user()
            if user is None:
                response = jsonify(error="authentication required: log in or send a Bearer token")
                response.status_code = 401
                response.headers["WWW-Authenticate"] = 'Bearer realm="esl-controller"'
                return response
            if user.role not in allowed:
                return jsonify(error=f"this needs the role {' or '.join(allowed)}"), 403
            g.api_user = user
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def has_bearer_header() -> bool:
    return "Authorization" in request.headers


def requester() -> SessionUser | None:
    """Whoever is asking: a Bearer token's user, else the logged-in session's, else None."""
    if "requester" not in g:
        g.requester = _api_user()
    return g.requester


def _api_user() -> SessionUser | None:
    if has_bearer_header():
        scheme, _, token = request.headers["Authorization"].partition(" ")
        if scheme.lower() != "bearer":
            return None
        user = authenticate_token(get_session(), token.strip())
        return SessionUser.of(user) if user else None
    return current_user if current_user.is_authenticated else None


def protect_cookie_requests() -> None:
    """CSRF check for API writes that ride on the session cookie (Bearer ones cannot be
    forged by another site, so they skip it)."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not has_bearer_header():
        csrf.protect()


def csrf_failed(error: CSRFError) -> Any:
    if request.path.startswith("/api/"):
        return jsonify(error=f"CSRF check failed: {error.description}"), 400
    return (
        render_template("error.html", title=_("Form expired"), message=error.description),
        400,
    )


# --- login pages -----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(home_url())
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    next_path = request.form.get("next", "")
    engine = current_app.extensions["esl"].engine
    attempt = login_throttle.begin(engine, username, request.remote_addr or "unknown", utcnow())
    if not attempt.allowed:
        flash(login_throttle.refusal_message(attempt), "error")
        response = current_app.make_response((render_template("login.html", next=next_path), 429))
        response.headers["Retry-After"] = str(attempt.retry_after_s)
        return response
    user = check_password(get_session(), username, request.form.get("password", ""))
    if user is None:
        flash(_("Wrong username or password."), "error")
        return render_template("login.html", next=next_path), 401
    login_throttle.succeeded(engine, attempt)
    if user.disabled:
        flash(_("This account is disabled; ask an admin to enable it."), "error")
        return render_template("login.html", next=next_path), 403
    login_user(SessionUser.of(user))
    flask_session[EPOCH_KEY] = user.session_epoch
    if user.role not in STAFF_ROLES and not next_path.startswith(_start_of(user.role)):
        return redirect(home_url())  # the overview would only be a 403 for them
    return redirect(_safe_next(next_path))


def _start_of(role: str) -> str:
    return "/portal" if role == BUYER_ROLE else "/account"


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    flask_session.pop(EPOCH_KEY, None)
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


def _safe_next(target: str) -> str:
    """Only same-site paths, so the login form cannot bounce users to another site."""
    # Browsers read a backslash as a slash ("/\host" is "//host"), so none may appear.
    parts = urlsplit(target)
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not parts.netloc
    ):
        return target
    return url_for("dashboard.overview")
