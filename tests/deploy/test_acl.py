"""The ACL and passwd generator without a broker: rules per device, refusals, idempotency,
the database roster, and that the shipped deploy/mosquitto.acl is its output."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from esl_controller.cli import main
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.deploy.acl import AclError, Roster, build_acl
from esl_controller.deploy.passwd import hash_password, parse_passwd, update_passwd, verify_password
from esl_controller.models import BaseStation, Player, Store, Zone
from esl_controller.web.auth import create_user

SHIPPED_ACL = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto.acl"
# What deploy/mosquitto.acl was generated from (the store of deploy/env.example).
SHIPPED_ROSTER = Roster.of(
    "esl",
    "store-0042",
    stations=["bs-01", "bs-02"],
    players=["screen-01", "screen-02"],
    sensors=["cam-01"],
)


def rules_of(acl: str, user: str) -> list[str]:
    rules, current = [], None
    for line in acl.splitlines():
        if line.startswith("user "):
            current = line.removeprefix("user ")
        elif line.startswith("topic ") and current == user:
            rules.append(line.removeprefix("topic "))
    return rules


def test_the_shipped_acl_is_the_generators_output():
    assert SHIPPED_ACL.read_text() == build_acl(SHIPPED_ROSTER)


def test_each_device_gets_only_its_own_topics_under_the_configured_prefix():
    acl = build_acl(Roster.of("chain/eu", "s7", stations=["bs-9"], players=["p1"], sensors=["c"]))
    assert "pattern" not in acl and "%u" not in acl
    assert rules_of(acl, "controller") == ["readwrite chain/eu/s7/#"]
    assert rules_of(acl, "bs-9") == [
        "read chain/eu/s7/bs-9/label/+/+",
        "write chain/eu/s7/bs-9/ack",
        "readwrite chain/eu/s7/bs-9/status",
    ]
    assert rules_of(acl, "p1") == [
        "read chain/eu/s7/signage/player/p1/playlist",
        "read chain/eu/s7/signage/player/p1/override",
        "read chain/eu/s7/signage/player/p1/revert",
        "write chain/eu/s7/signage/player/p1/status",
        "write chain/eu/s7/signage/player/p1/pop",
    ]
    assert rules_of(acl, "c") == ["write chain/eu/s7/signage/trigger/c"]


def test_the_same_devices_in_any_order_give_the_same_file():
    first = Roster.of("esl", "s", stations=["b", "a", "a"], players=["z", "y"])
    second = Roster.of("esl", "s", stations=["a", "b"], players=["y", "z"])
    assert build_acl(first) == build_acl(second)


@pytest.mark.parametrize(
    ("roster", "reason"),
    [
        (Roster.of("esl", "s", stations=["signage"]), "may not be called 'signage'"),
        (Roster.of("esl", "s", stations=["x"], players=["x"]), "both a base station and a player"),
        (Roster.of("esl", "s", sensors=["controller"]), "both a controller and a sensor"),
        (Roster.of("esl", "s", players=["a/b"]), "player id 'a/b' must be printable"),
        (Roster.of("esl", "s", stations=["#"]), "base station id '#'"),
        (Roster.of("esl/+", "s"), "topic prefix level id '+'"),
        (Roster.of("esl", "s t"), "store id 's t'"),
    ],
)
def test_unsafe_rosters_are_refused_saying_why(roster: Roster, reason: str):
    with pytest.raises(AclError, match=re.escape(reason)):
        build_acl(roster)


def test_passwd_keeps_existing_users_adds_new_ones_and_drops_the_rest():
    first = update_passwd("", ["controller", "bs-01", "gone"])
    assert set(first.new_passwords) == {"controller", "bs-01", "gone"}
    stored = parse_passwd(first.text)
    assert all(verify_password(first.new_passwords[user], stored[user]) for user in stored)

    second = update_passwd(first.text, ["controller", "bs-01", "bs-02"])
    assert set(second.new_passwords) == {"bs-02"}
    assert second.removed == ("gone",)
    again = parse_passwd(second.text)
    assert again["controller"] == stored["controller"] and again["bs-01"] == stored["bs-01"]
    assert update_passwd(second.text, ["controller", "bs-01", "bs-02"]).text == second.text


def test_hashes_are_salted_and_check_like_mosquitto():
    one, two = hash_password("same"), hash_password("same")
    assert one != two and one.startswith("$7$20000$")
    assert verify_password("same", one) and not verify_password("other", one)
    assert not verify_password("same", "$6$abc$def") and not verify_password("same", "junk")


def test_the_cli_reads_the_registered_devices_and_writes_private_files(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with session_scope(engine) as session:
        session.add_all([Store(id="s1", name="one"), Store(id="s2", name="two")])
        session.flush()
        session.add_all([Zone(id="dairy", store_id="s1")])
        session.add_all(
            [BaseStation(id="bs-01", store_id="s1"), BaseStation(id="bs-7", store_id="s2")]
        )
        session.flush()
        session.add_all(
            [
                Player(id="screen-01", store_id="s1", zone_id="dairy"),
                Player(id="old-screen", store_id="s1", zone_id="dairy", archived=True),
            ]
        )
        create_user(session, "cam-01", "cam-01-password", "sensor")
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ESL_TOPIC_PREFIX", "shop")
    monkeypatch.setenv("ESL_STORE_ID", "s1")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["deploy", "acl", "--out-dir", str(out), "--station", "bs-x"])
    assert result.exit_code == 0, result.output
    acl = (out / "mosquitto.acl").read_text()
    users = [line.removeprefix("user ") for line in acl.splitlines() if line.startswith("user ")]
    assert users == ["controller", "bs-01", "bs-x", "screen-01", "cam-01"]
    assert "shop/s1/#" in acl and "bs-7" not in acl and "old-screen" not in acl
    for name in ("esl.passwd", "esl.credentials"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    credentials = dict(
        line.split(" ") for line in (out / "esl.credentials").read_text().splitlines()
    )
    assert set(credentials) == set(users)
    assert all(password not in result.output for password in credentials.values())
