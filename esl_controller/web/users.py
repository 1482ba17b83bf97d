"""Managing people: add, disable, enable, delete, change a password, log out everywhere,
revoke an API token. Shared by the CLI, the Users page and the users API.

Every change is recorded in the audit trail in the caller's transaction, with no secret in
its detail. The last enabled admin can be neither disabled nor deleted, nor demoted by
deletion, so the store always keeps someone who can manage users.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session
from werkzeug.security import generate_password_hash

from esl_controller import audit
from esl_controller.models import User
from esl_controller.web.auth import (
    MIN_PASSWORD_LENGTH,
    UserError,
    create_user,
    find_user,
)


class UnknownUser(LookupError):
    """No user has that name."""


def target(username: str) -> str:
    return f"user:{username}"


def get_user(session: Session, username: str, within_store: str | None = None) -> User:
    """The user; a store's admin (`within_store`) finds only the users of that store, so
    another store's user is unknown to them rather than refused."""
    user = find_user(session, username)
    if user is None or (within_store is not None and user.store_id != within_store):
        raise UnknownUser(f"there is no user {username!r}")
    return user


def add_user(
    session: Session,
    actor: str,
    username: str,
    password: str,
    role: str,
    advertiser_id: int | None = None,
    store_id: str | None = None,
) -> User:
    user = create_user(session, username, password, role, advertiser_id, store_id)
    detail: dict[str, object] = {"role": role}
    if advertiser_id is not None:
        detail["advertiser_id"] = advertiser_id
    if store_id is not None:
        detail["store_id"] = store_id
    audit.record(
        session,
        actor=actor,
        action="user.add",
        target=target(username),
        store_id=user.store_id,
        detail=detail,
    )
    return user


def list_users(session: Session, within_store: str | None = None) -> list[User]:
    """Every user, or only those of one store (what a store's own admin manages)."""
    query = select(User).order_by(User.username)
    if within_store is not None:
        query = query.where(User.store_id == within_store)
    return list(session.scalars(query))


def set_disabled(session: Session, actor: str, username: str, disabled: bool) -> User:
    """Disable (ending every session and token use at once) or enable a user."""
    user = get_user(session, username)
    if disabled and not user.disabled:
        _keep_an_admin(session, user, "disable")
        user.session_epoch += 1
    user.disabled = disabled
    session.add(user)
    action = "user.disable" if disabled else "user.enable"
    audit.record(
        session, actor=actor, action=action, target=target(username), store_id=user.store_id
    )
    session.flush()
    return user


def delete_user(session: Session, actor: str, username: str) -> None:
    user = get_user(session, username)
    _keep_an_admin(session, user, "delete")
    audit.record(
        session,
        actor=actor,
        action="user.delete",
        target=target(username),
        store_id=user.store_id,
        detail={"role": user.role},
    )
    session.delete(user)
    session.flush()


def change_password(session: Session, actor: str, username: str, password: str) -> User:
    """Set a new password and end the user's other sessions (the caller keeps its own by
    storing the returned user's new epoch in its session)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    user = get_user(session, username)
    user.password_hash = generate_password_hash(password)
    user.session_epoch += 1
    session.add(user)
    audit.record(
        session, actor=actor, action="user.passwd", target=target(username), store_id=user.store_id
    )
    session.flush()
    return user


def log_out_everywhere(session: Session, actor: str, username: str) -> User:
    """End every dashboard session of the user and revoke the API token."""
    user = get_user(session, username)
    had_token = user.api_token_hash is not None
    user.session_epoch += 1
    user.api_token_hash = None
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.logout_all",
        target=target(username),
        store_id=user.store_id,
        detail={"token_revoked": had_token},
    )
    session.flush()
    return user


def revoke_token(session: Session, actor: str, username: str) -> bool:
    """Remove the user's API token; False when there was none (nothing recorded then)."""
    user = get_user(session, username)
    if user.api_token_hash is None:
        return False
    user.api_token_hash = None
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.token_revoke",
        target=target(username),
        store_id=user.store_id,
    )
    session.flush()
    return True


def record_token_issued(session: Session, actor: str, username: str) -> None:
    user = find_user(session, username)
    audit.record(
        session,
        actor=actor,
        action="user.token",
        target=target(username),
        store_id=user.store_id if user is not None else None,
    )


def _keep_an_admin(session: Session, user: User, verb: str) -> None:
    if user.role != "admin" or user.disabled:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled.is_(False), User.id != user.id)  # type: ignore[attr-defined]
    )
    if not others:
        raise UserError(f"cannot {verb} {user.username!r}: it is the last enabled admin")
