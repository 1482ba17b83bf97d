"""Which local brokers a test can start here, and how to enable the missing ones."""

from __future__ import annotations

import pytest

from esl_controller.broker import BrokerKind, available_kinds

HOW_TO_ENABLE = {
    BrokerKind.MOSQUITTO: "Mosquitto is not installed (apt-get install mosquitto to test it)",
    BrokerKind.RUMQTTD: "the embedded broker needs the iotcore wheel (pip install iotcore)",
}


def require_broker(kind: BrokerKind) -> None:
    """Skip the calling test, saying how to enable it, when `kind` cannot start here."""
    if kind not in available_kinds():
        pytest.skip(HOW_TO_ENABLE[kind])
