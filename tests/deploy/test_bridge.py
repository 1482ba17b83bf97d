"""The bridge and head-office ACL generators without a broker: the remapping, TLS, refusals,
the CLI's files, and that the shipped examples are their output."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from esl_controller.cli import main
from esl_controller.config import Settings
from esl_controller.db import session_scope
from esl_controller.deploy.acl import AclError
from esl_controller.deploy.bridge import (
    BridgeError,
    BridgeTls,
    StoreBridge,
    build_bridge_config,
    build_head_office_acl,
)
from esl_controller.deploy.passwd import parse_passwd, verify_password
from esl_controller.models import Store
from tests.deploy.test_acl import rules_of

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SHIPPED_BRIDGE = StoreBridge(
    store="store-0042",
    local_prefix="esl",
    host="mqtt.hq.example",
    port=8883,
    password="CHANGE-ME",
    tls=BridgeTls(cafile="/etc/mosquitto/certs/hq-ca.crt"),
)


def config_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_shipped_examples_are_the_generators_output():
    assert (DEPLOY / "mosquitto-bridge.conf.example").read_text() == build_bridge_config(
        SHIPPED_BRIDGE
    )
    acl = build_head_office_acl(["store-0042", "store-0043"])
    assert (DEPLOY / "head-office.acl.example").read_text() == acl


def test_only_station_status_goes_up_remapped_under_the_store_id():
    bridge = StoreBridge("s7", "chain/eu", "hq.example", 8883, "pw", remote_prefix="central")
    topics = [line for line in config_lines(build_bridge_config(bridge)) if line[:6] == "topic "]
    assert topics == ["topic +/status out 1 chain/eu/s7/ central/s7/"]


def test_tls_checks_head_office_with_the_given_ca_or_the_systems():
    with_ca = config_lines(build_bridge_config(SHIPPED_BRIDGE))
    assert "bridge_cafile /etc/mosquitto/certs/hq-ca.crt" in with_ca
    assert "bridge_insecure false" in with_ca
    system = StoreBridge("s1", "esl", "hq", 8883, "pw", tls=BridgeTls(version="tlsv1.3"))
    lines = config_lines(build_bridge_config(system))
    assert "bridge_capath /etc/ssl/certs" in lines and "bridge_tls_version tlsv1.3" in lines
    client = BridgeTls(certfile="/etc/s1.crt", keyfile="/etc/s1.key")
    lines = config_lines(
        build_bridge_config(StoreBridge("s1", "esl", "hq", 8883, "pw", tls=client))
    )
    assert "bridge_certfile /etc/s1.crt" in lines and "bridge_keyfile /etc/s1.key" in lines


def test_plaintext_has_no_tls_lines():
    text = build_bridge_config(StoreBridge("s1", "esl", "hq", 1883, "pw", tls=None))
    assert not [line for line in config_lines(text) if line.startswith("bridge_ca")]
    assert "Plain TCP" in text


@pytest.mark.parametrize(
    ("bridge", "words"),
    [
        (StoreBridge("bad/store", "esl", "hq", 8883, "pw"), "store id 'bad/store'"),
        (StoreBridge("s1", "esl/#", "hq", 8883, "pw"), "topic prefix level"),
        (StoreBridge("s1", "esl", "hq", 8883, "pw", remote_prefix="a+b"), "topic prefix"),
        (StoreBridge("s1", "esl", "h q", 8883, "pw"), "host name"),
        (StoreBridge("s1", "esl", "hq", 70000, "pw"), "between 1 and 65535"),
        (StoreBridge("s1", "esl", "hq", 8883, "two words"), "without spaces"),
        (StoreBridge("s1", "esl", "hq", 8883, "pw", tls=BridgeTls(certfile="c")), "key file"),
        (StoreBridge("s1", "esl", "hq", 8883, "pw", tls=BridgeTls(version="ssl3")), "ssl3"),
    ],
)
def test_a_bridge_that_cannot_be_safe_is_refused_saying_why(bridge: StoreBridge, words: str):
    with pytest.raises(BridgeError, match=words):
        build_bridge_config(bridge)


def test_each_store_may_write_only_its_own_topics_at_head_office():
    acl = build_head_office_acl(["s2", "s1", "s2"], "central", "hq-reader")
    assert rules_of(acl, "hq-reader") == ["read central/#"]
    assert rules_of(acl, "s1") == ["write central/s1/+/status", "write central/s1/bridge"]
    assert rules_of(acl, "s2") == ["write central/s2/+/status", "write central/s2/bridge"]
    assert "pattern" not in acl


def test_a_reader_named_like_a_store_is_refused():
    with pytest.raises(AclError, match="both the head-office reader and a store"):
        build_head_office_acl(["head-office"])


def test_the_cli_writes_the_bridge_private_and_head_office_passwords_once(tmp_path: Path):
    runner = CliRunner()
    arguments = ["deploy", "head-office", "--no-database", "--out-dir", str(tmp_path)]
    result = runner.invoke(main, [*arguments, "--store", "s1", "--store", "s2"])
    assert result.exit_code == 0, result.output
    credentials = dict(
        line.split(" ", 1)
        for line in (tmp_path / "head-office.credentials").read_text().split("\n")
        if line
    )
    assert set(credentials) == {"head-office", "s1", "s2"}
    stored = parse_passwd((tmp_path / "head-office.passwd").read_text())
    assert verify_password(credentials["s1"], stored["s1"])
    (tmp_path / "pw").write_text(credentials["s1"] + "\n")
    out = tmp_path / "bridge.conf"
    arguments = ["deploy", "bridge", "--store", "s1", "--prefix", "esl", "--head-office"]
    arguments += ["hq:8883", "--password-file", str(tmp_path / "pw"), "--out", str(out)]
    result = runner.invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert f"remote_password {credentials['s1']}" in config_lines(out.read_text())
    assert credentials["s1"] not in result.output


def test_the_cli_refuses_a_head_office_without_a_port(tmp_path: Path):
    (tmp_path / "pw").write_text("secret\n")
    arguments = ["deploy", "bridge", "--store", "s1", "--head-office", "hq.example"]
    arguments += ["--password-file", str(tmp_path / "pw"), "--out", str(tmp_path / "b.conf")]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code != 0
    assert "HOST:PORT" in result.output
    assert not (tmp_path / "b.conf").exists()


def test_head_office_takes_every_store_of_the_chain_database(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with session_scope(engine) as session:
        session.add_all([Store(id="s1", name="One"), Store(id="s2", name="Two")])
    monkeypatch.setenv("ESL_DATA_DIR", str(settings.data_dir))
    arguments = ["deploy", "head-office", "--out-dir", str(tmp_path), "--store", "s3"]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    acl = (tmp_path / "head-office.acl").read_text()
    assert [line for line in acl.splitlines() if line.startswith("user ")] == [
        "user head-office",
        "user s1",
        "user s2",
        "user s3",
    ]
