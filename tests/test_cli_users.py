"""`esl-controller user ...`: every role, a buyer with its advertiser, disable, enable,
delete, passwords, tokens, log out everywhere; each change in the audit log as the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session

from esl_controller import audit, db
from esl_controller.cli import ROLE_NAMES, main
from esl_controller.config import Settings
from esl_controller.models import Advertiser, Store, User
from esl_controller.web.auth import ROLES, authenticate_token, check_password

PASSWORD = "cli-password-1"


@pytest.fixture
def cli_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    engine = db.make_engine(Settings.from_env().resolved_database_url)
    db.init_db(engine)
    yield engine
    engine.dispose()


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["user", *args], input=input)


def _add(username: str, role: str, *extra: str):
    result = _run("add", username, "--role", role, "--password", PASSWORD, *extra)
    assert result.exit_code == 0, result.output
    return result


def _user(engine, username: str) -> User | None:
    with Session(engine) as session:
        return session.scalars(select(User).where(User.username == username)).first()


def test_the_cli_offers_every_role():
    assert set(ROLE_NAMES) == set(ROLES)


@pytest.mark.parametrize("role", ["admin", "manager", "sensor", "player"])
def test_user_add_creates_every_role(cli_engine, role: str):
    assert f"created {role} u-{role}" in _add(f"u-{role}", role).output
    assert _user(cli_engine, f"u-{role}").role == role


def test_a_buyer_needs_its_advertiser(cli_engine):
    refused = _run("add", "dairy", "--role", "buyer", "--password", PASSWORD)
    assert refused.exit_code != 0
    assert "needs the advertiser" in refused.output and "Traceback" not in refused.output
    with db.session_scope(cli_engine) as session:
        advertiser = Advertiser(name="Dairy Co")
        session.add(advertiser)
        session.flush()
        advertiser_id = advertiser.id
    _add("dairy", "buyer", "--advertiser", str(advertiser_id))
    assert _user(cli_engine, "dairy").advertiser_id == advertiser_id
    listed = _run("list").output
    assert f"dairy\tbuyer advertiser={advertiser_id}\tactive\tno-token" in listed


def test_disable_enable_passwd_and_delete(cli_engine):
    _add("ana", "admin")
    _add("bob", "manager")
    assert _run("disable", "bob").exit_code == 0
    assert "bob\tmanager\tdisabled" in _run("list").output
    assert _run("enable", "bob").exit_code == 0
    result = _run("passwd", "bob", "--password", "new-cli-password")
    assert result.exit_code == 0, result.output
    with Session(cli_engine) as session:
        assert check_password(session, "bob", "new-cli-password") is not None
    assert _run("delete", "bob", "--yes").exit_code == 0
    assert _user(cli_engine, "bob") is None
    with Session(cli_engine) as session:
        entries = audit.recent(session, action_prefix="user.")
    assert [entry.action for entry in entries] == [
        "user.delete",
        "user.passwd",
        "user.enable",
        "user.disable",
        "user.add",
        "user.add",
    ]
    assert {entry.actor for entry in entries} == {audit.CLI_ACTOR}
    assert not any("cli-password" in entry.detail for entry in entries)


def test_refusals_are_messages_not_tracebacks(cli_engine):
    _add("ana", "admin")
    for args in (("disable", "ana"), ("delete", "ana", "--yes"), ("disable", "ghost")):
        result = _run(*args)
        assert result.exit_code != 0
        assert "Traceback" not in result.output
    assert "last enabled admin" in _run("disable", "ana").output
    assert "there is no user 'ghost'" in _run("disable", "ghost").output


def test_tokens_are_listed_revoked_and_end_with_logout_all(cli_engine):
    _add("cam-1", "sensor")
    _add("screen-1", "player")
    first = _run("token", "cam-1").output.strip()
    second = _run("token", "screen-1").output.strip()
    assert _run("tokens").output.splitlines() == ["cam-1\tsensor", "screen-1\tplayer"]
    assert "revoked the token of cam-1" in _run("tokens", "--revoke", "cam-1").output
    assert "cam-1 had no token" in _run("tokens", "--revoke", "cam-1").output
    assert _run("logout-all", "screen-1").exit_code == 0
    with Session(cli_engine) as session:
        assert authenticate_token(session, first) is None
        assert authenticate_token(session, second) is None
        assert _user(cli_engine, "screen-1").session_epoch == 1


def test_user_add_with_a_store_limits_them_to_it(cli_engine):
    refused = _run("add", "nora", "--role", "manager", "--store", "north", "--password", PASSWORD)
    assert refused.exit_code != 0
    assert "there is no store 'north'" in refused.output and "Traceback" not in refused.output
    assert _user(cli_engine, "nora") is None
    with db.session_scope(cli_engine) as session:
        session.add(Store(id="north", name="North Mall"))
    assert (
        "created manager nora of store north" in _add("nora", "manager", "--store", "north").output
    )
    _add("hq", "admin")
    assert (_user(cli_engine, "nora").store_id, _user(cli_engine, "hq").store_id) == ("north", None)
    assert "nora\tmanager store=north\tactive\tno-token" in _run("list").output
