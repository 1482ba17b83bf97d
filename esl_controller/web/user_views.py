"""People pages: the Users page (admins), one's own account (everyone logged in) and the
audit log (staff). Each form posts back here and redirects with a message; every change
goes through `users.py`, which records it in the audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from esl_controller import audit
from esl_controller.models import Advertiser, Store
from esl_controller.web import auth, users
from esl_controller.web.auth import UserError
from esl_controller.web.database import get_session
from esl_controller.web.i18n import gettext_ as _

AUDIT_PAGE = 200
# The families the audit page filters by: the first word of each action.
AUDIT_FAMILIES = ("label", "price", "promotion", "playlist", "campaign", "user")

bp = Blueprint("people", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _back() -> Any:
    return redirect(url_for("people.users_page"))


# --- Users (admins) ----------------------------------------------------------------------


@bp.get("/users")
@auth.roles_required(["admin"])
def users_page() -> str:
    session = get_session()
    advertisers = list(session.scalars(select(Advertiser).order_by(Advertiser.name)))
    own_store = current_user.store_id
    stores = list(session.scalars(select(Store).order_by(Store.name, Store.id)))
    return render_template(
        "users.html",
        users=users.list_users(session, within_store=own_store),
        stores=stores if own_store is None and len(stores) > 1 else [],
        store_names={store.id: store.name for store in stores},
        roles=auth.ROLES,
        advertisers=advertisers,
        advertiser_names={advertiser.id: advertiser.name for advertiser in advertisers},
        form=request.args,
    )


@bp.post("/users")
@auth.roles_required(["admin"])
def add_user() -> Any:
    form = request.form
    username = form.get("username", "").strip()
    role = form.get("role", "")
    advertiser = form.get("advertiser_id", "")
    advertiser_id = int(advertiser) if advertiser.isdigit() else None
    if role != auth.BUYER_ROLE:
        advertiser_id = None  # the select keeps its value when the role changes
    # A refused form comes back as it was typed (passwords apart), the advertiser included.
    again = url_for("people.users_page", username=username, role=role, advertiser_id=advertiser_id)
    # A store's own admin adds users of that store; head office picks one or none.
    store_id = current_user.store_id or form.get("store_id", "").strip() or None
    if form.get("password", "") != form.get("confirm", ""):
        flash(_("The two passwords differ; nothing was created."), "error")
        return redirect(again)
    session = get_session()
    try:
        users.add_user(
            session,
            current_user.username,
            username,
            form.get("password", ""),
            role,
            advertiser_id,
            store_id,
        )
    except UserError as exc:
        session.rollback()
        flash(_("Could not create the user: %(reason)s.") % {"reason": exc}, "error")
        return redirect(again)
    session.commit()
    flash(_("Created %(role)s %(username)s.") % {"role": role, "username": username}, "success")
    return _back()


def _change(username: str, change: Any, done: str, *, ends_sessions: bool = True) -> Any:
    session = get_session()
    try:
        users.get_user(session, username, within_store=current_user.store_id)
        change(session)
    except (UserError, users.UnknownUser) as exc:
        session.rollback()
        flash(
            _("Nothing changed: %(reason)s.") % {"reason": exc.args[0] if exc.args else exc},
            "error",
        )
        return _back()
    session.commit()
    flash(done, "success")
    if ends_sessions and username == current_user.username:
        # An admin who ends their own sessions (or deletes themselves) is logged out here too.
        return redirect(url_for("auth.login"))
    return _back()


@bp.post("/users/<username>/disable")
@auth.roles_required(["admin"])
def disable_user(username: str) -> Any:
    return _change(
        username,
        lambda session: users.set_disabled(session, current_user.username, username, True),
        _("Disabled %(username)s; their sessions and token stop working now.")
        % {"username": username},
    )


@bp.post("/users/<username>/enable")
@auth.roles_required(["admin"])
def enable_user(username: str) -> Any:
    return _change(
        username,
        lambda session: users.set_disabled(session, current_user.username, username, False),
        _("Enabled %(username)s.") % {"username": username},
        ends_sessions=False,
    )


@bp.post("/users/<username>/delete")
@auth.roles_required(["admin"])
def delete_user(username: str) -> Any:
    return _change(
        username,
        lambda session: users.delete_user(session, current_user.username, username),
        _("Deleted %(username)s.") % {"username": username},
    )


@bp.post("/users/<username>/logout-all")
@auth.roles_required(["admin"])
def log_out_user(username: str) -> Any:
    return _change(
        username,
        lambda session: users.log_out_everywhere(session, current_user.username, username),
        _("Logged %(username)s out everywhere and revoked their API token.")
        % {"username": username},
    )


@bp.post("/users/<username>/password")
@auth.roles_required(["admin"])
def set_password(username: str) -> Any:
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        flash(_("The two passwords differ; nothing changed."), "error")
        return _back()
    return _change(
        username,
        lambda session: users.change_password(session, current_user.username, username, password),
        f"New password set for {username}; their other sessions are logged out.",
    )


# --- one's own account (every role) --------------------------------------------------------


@bp.get("/account")
@auth.logged_in
def account() -> str:
    return render_template("account.html")


@bp.post("/account/password")
@auth.logged_in
def change_own_password() -> Any:
    form = request.form
    session = get_session()
    user = users.get_user(session, current_user.username)
    if not check_password_hash(user.password_hash, form.get("current", "")):
        flash(_("Your current password is not right; nothing changed."), "error")
        return redirect(url_for("people.account"))
    if form.get("password", "") != form.get("confirm", ""):
        flash(_("The two new passwords differ; nothing changed."), "error")
        return redirect(url_for("people.account"))
    try:
        user = users.change_password(
            session, current_user.username, current_user.username, form.get("password", "")
        )
    except UserError as exc:
        session.rollback()
        flash(_("Nothing changed: %(reason)s.") % {"reason": exc}, "error")
        return redirect(url_for("people.account"))
    session.commit()
    flask_session[auth.EPOCH_KEY] = user.session_epoch  # this session stays logged in
    flash(_("Your password is changed; your other sessions are logged out."), "success")
    return redirect(url_for("people.account"))


@bp.post("/account/logout-all")
@auth.logged_in
def log_out_everywhere() -> Any:
    session = get_session()
    users.log_out_everywhere(session, current_user.username, current_user.username)
    session.commit()
    flash(_("You are logged out everywhere, and your API token is revoked."), "success")
    return redirect(url_for("auth.login"))


# --- audit log (staff) ---------------------------------------------------------------------


@bp.get("/audit")
@auth.login_required
def audit_log() -> str:
    family = request.args.get("family", "")
    if family not in AUDIT_FAMILIES:
        family = ""
    who = request.args.get("target", "").strip()
    entries = audit.recent(
        get_session(),
        limit=AUDIT_PAGE,
        action_prefix=f"{family}." if family else None,
        target=who or None,
        store_id=current_user.store_id,  # a store's own people see their store's changes
    )
    return render_template(
        "audit.html",
        entries=[(entry, audit.detail_of(entry)) for entry in entries],
        families=AUDIT_FAMILIES,
        family=family,
        target=who,
        page_size=AUDIT_PAGE,
    )
