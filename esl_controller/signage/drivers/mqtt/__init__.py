"""The MQTT player channel: today's player protocol (docs/protocol.md, signage part)."""

from __future__ import annotations

from esl_controller.signage.channel_registry import ChannelContext
from esl_controller.signage.drivers.mqtt.channel import MqttPlayerChannel


def create_channel(context: ChannelContext) -> MqttPlayerChannel:
    """The entry point `mqtt` of `esl_controller.player_channels`."""
    if context.mqtt is None:
        raise ValueError("the mqtt player channel needs the worker's MQTT connection")
    return MqttPlayerChannel(context.mqtt, context.settings.topic_prefix, context.settings.store_id)


__all__ = ["MqttPlayerChannel", "create_channel"]
