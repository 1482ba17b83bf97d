"""A placeholder or weak ESL_SECRET_KEY keeps `web` and `worker` from starting; the demo and
an unset key (generated into the data dir) still work."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from esl_controller.cli import main
from esl_controller.config import (
    MIN_SECRET_KEY_LENGTH,
    InsecureSettings,
    Settings,
    secret_key_problem,
)
from esl_controller.web import create_app

DEPLOY_ENV = Path(__file__).resolve().parents[2] / "deploy" / "env.example"


def shipped_placeholder() -> str:
    match = re.search(r"^ESL_SECRET_KEY=(.*)$", DEPLOY_ENV.read_text(), re.MULTILINE)
    assert match, "deploy/env.example names ESL_SECRET_KEY"
    return match.group(1)


@pytest.mark.parametrize(
    "key",
    [
        "CHANGE-ME-64-random-characters",
        "changeme" * 8,
        "please-replace-me-with-something-long-enough",
        "x" * 12,
        "ab" * 40,  # long but not random
    ],
)
def test_weak_keys_are_named_with_a_reason(key: str):
    problem = secret_key_problem(key)
    assert problem is not None
    assert key not in problem  # the key itself is never echoed


def test_generated_keys_and_an_unset_key_pass():
    assert secret_key_problem("") is None
    for _ in range(20):
        assert secret_key_problem(secrets.token_hex(16)) is None
        assert secret_key_problem(secrets.token_urlsafe(MIN_SECRET_KEY_LENGTH)) is None


def test_the_shipped_example_is_refused():
    settings = Settings(secret_key=shipped_placeholder())
    with pytest.raises(InsecureSettings, match="token_hex"):
        settings.require_secure_secret_key()


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_start_with_the_placeholder(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESL_SECRET_KEY", shipped_placeholder())
    # A port nobody listens on: if the check failed, the worker would fail differently.
    monkeypatch.setenv("ESL_MQTT_URL", "mqtt://127.0.0.1:9")
    result = CliRunner().invoke(main, [command])
    assert result.exit_code != 0
    assert "ESL_SECRET_KEY is a placeholder" in result.output
    assert "secrets.token_hex(32)" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "esl.db").exists()  # refused before touching the database


def test_a_short_key_is_refused_by_the_wsgi_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESL_SECRET_KEY", "s3cr3t-but-short")
    with pytest.raises(InsecureSettings, match="16 characters long; at least 32"):
        create_app()


def test_the_wsgi_factory_accepts_a_generated_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    key = secrets.token_hex(32)
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESL_SECRET_KEY", key)
    assert create_app().secret_key == key
