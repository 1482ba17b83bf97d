from __future__ import annotations

import pytest

from esl_controller.config import Settings
from esl_controller.mqtt import MqttClient
from esl_controller.signage.channel import PlayerChannel
from esl_controller.signage.channel_registry import (
    ChannelContext,
    UnknownChannel,
    available_channels,
    open_channels,
)
from esl_controller.signage.drivers.mqtt import MqttPlayerChannel


def test_the_mqtt_driver_is_installed_under_its_name() -> None:
    assert "mqtt" in available_channels()


def test_channels_are_opened_by_the_configured_names(settings: Settings) -> None:
    client = MqttClient(settings.mqtt_url, client_id="registry-test")  # never started
    [channel] = open_channels(["mqtt"], ChannelContext(settings, mqtt=client))
    assert isinstance(channel, MqttPlayerChannel) and isinstance(channel, PlayerChannel)
    assert channel.name == "mqtt" and channel.mqtt is client


def test_an_unknown_name_says_which_drivers_exist(settings: Settings) -> None:
    with pytest.raises(UnknownChannel, match=r"no player channel 'carrier-pigeon' \(known: .*mqtt"):
        open_channels(["carrier-pigeon"], ChannelContext(settings))
    with pytest.raises(UnknownChannel, match="empty"):
        open_channels([], ChannelContext(settings))


def test_the_mqtt_driver_needs_the_workers_connection(settings: Settings) -> None:
    with pytest.raises(ValueError, match="MQTT connection"):
        open_channels(["mqtt"], ChannelContext(settings))


def test_the_setting_lists_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESL_PLAYER_CHANNELS", " mqtt, browser ,,")
    assert Settings.from_env().player_channels == ("mqtt", "browser")
    monkeypatch.setenv("ESL_PLAYER_CHANNELS", "")
    assert Settings.from_env().player_channels == ("mqtt",)
