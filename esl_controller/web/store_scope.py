"""The store a request is about, and the one helper that scopes a query to it.

A store-scoped user (`user.store_id` set) is always in their own store. A head-office user
(no store) works in the store they chose: `?store=ID` on any page or API call (a page
remembers it in the session, which is how the nav switcher and the chain page switch),
else the last one chosen, else the configured ESL_STORE_ID, so a single store looks as it
always did. A store-scoped user asking for another store gets a 403; anyone asking for a
store that does not exist gets a 404.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from flask import Flask, abort, g, request
from flask import session as flask_session
from sqlalchemy import or_, select
from sqlalchemy.sql import Select
from werkzeug.exceptions import Forbidden, HTTPException, NotFound

from esl_controller.config import Settings
from esl_controller.models import Store
from esl_controller.web import auth, i18n
from esl_controller.web.database import get_session, get_settings

SESSION_KEY = "store"
STORE_ARG = "store"

Query = TypeVar("Query", bound=Select)


def init_app(app: Flask) -> None:
    app.extensions[i18n.CURRENT_STORE] = current_store_id  # dates on the store's clock
    app.before_request(_check_asked_store)
    app.add_template_global(current_store_id, "current_store_id")
    app.add_template_global(switchable_stores, "switchable_stores")
    app.add_template_global(is_head_office, "is_head_office")


def scoped(query: Query, model: Any, store_id: str | None) -> Query:
    """`query` limited to the rows of `model` in one store; `None` (the CLI, a test on the
    whole database) leaves it unscoped."""
    if store_id is None:
        return query
    return query.where(model.store_id == store_id)


def scoped_or_chain_wide(query: Query, model: Any, store_id: str | None) -> Query:
    """Like `scoped`, for tables whose rows may belong to no store (an incident of the
    chain itself, a row written before its table named stores): those show in every
    store, as they did when the database held one."""
    if store_id is None:
        return query
    return query.where(or_(model.store_id == store_id, model.store_id.is_(None)))


def is_head_office(user: auth.SessionUser | None = None) -> bool:
    """Staff with no store of their own: they see and switch between every store."""
    user = user or auth.requester()
    return user is not None and user.role in auth.STAFF_ROLES and user.store_id is None


def current_store_id() -> str:
    """The store this request reads and changes (see the module docstring)."""
    if "current_store_id" not in g:
        store_id, refusal = _resolve(auth.requester())
        # Kept even when refused: the error page itself is drawn in the user's own store.
        g.current_store_id = store_id
        if refusal is not None:
            raise refusal
    return g.current_store_id


def current_store_or_chain(whole_chain: bool) -> str | None:
    """The current store, or None for every store when head office asks for the whole
    chain; a store's user asking for the chain is refused."""
    if not whole_chain:
        return current_store_id()
    if not is_head_office():
        raise Forbidden(i18n.gettext_("The whole chain is for head office; yours is one store."))
    return None


def _resolve(user: auth.SessionUser | None) -> tuple[str, HTTPException | None]:
    # Only staff switch stores with `?store=`; for a buyer it is a report's filter, which
    # the report routes judge themselves (after checking the campaign is the buyer's).
    asked = request.args.get(STORE_ARG, "").strip() if _is_staff(user) else ""
    if user is not None and user.store_id is not None:
        if asked and asked != user.store_id:
            return user.store_id, Forbidden(f"This account works in store {user.store_id} only.")
        return user.store_id, None
    fallback = get_settings().store_id
    chosen = flask_session.get(SESSION_KEY)
    if user is not None and chosen and get_session().get(Store, chosen) is not None:
        fallback = chosen
    if not asked:
        return fallback, None
    if get_session().get(Store, asked) is None:
        return fallback, NotFound(f"There is no store {asked!r}.")
    if user is not None and not request.path.startswith("/api/"):
        flask_session[SESSION_KEY] = asked
    return asked, None


def _check_asked_store() -> None:
    """Refuse (or switch to) `?store=` before any view runs, even one that never reads
    the current store, so asking for another store is never silently ignored."""
    if STORE_ARG in request.args and _is_staff(auth.requester()):
        current_store_id()


def _is_staff(user: auth.SessionUser | None) -> bool:
    return user is not None and user.role in auth.STAFF_ROLES


def switchable_stores() -> list[Store]:
    """The stores the nav switcher offers: every store to head office when there are two
    or more, none otherwise (a single store shows no switcher)."""
    if not is_head_office():
        return []
    stores = list(get_session().scalars(select(Store).order_by(Store.name, Store.id)))
    return stores if len(stores) > 1 else []


def store_settings() -> Settings:
    """The settings with `store_id` naming this request's store, for the actions shared
    with the CLI that take settings (they read `settings.store_id`)."""
    if "store_settings" not in g:
        g.store_settings = replace(get_settings(), store_id=current_store_id())
    return g.store_settings


def require_in_store(model: Any, row_id: str, noun: str) -> None:
    """A 404 unless the `model` row `row_id` belongs to this request's store; another
    store's row gets the very answer an unknown id gets, so nobody learns it exists."""
    row = get_session().get(model, row_id)
    if row is None or row.store_id != current_store_id():
        abort(404, description=f"unknown {noun} {row_id!r}")


def args_without_store() -> dict[str, str]:
    """The query string without `store` (which this module has already read), for the
    schemas that refuse a field they do not know."""
    return {key: value for key, value in request.args.items() if key != STORE_ARG}
