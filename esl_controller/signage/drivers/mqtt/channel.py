"""Players over MQTT: commands become the topics and payloads of docs/protocol.md, player
and sensor messages become reports to the core.

Runs on the MQTT network thread for what comes in: it only splits the topic, parses the
payload and reports; the core does the rest in its own thread. Proof of play is subscribed
durably: the broker forgets a batch only once the core has committed it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from esl_controller.mqtt import MqttClient
from esl_controller.signage import protocol
from esl_controller.signage.channel import (
    ChannelReports,
    MalformedReported,
    PlaylistDelivery,
    PlaysReported,
    PresenceReported,
    TriggerReported,
)
from esl_controller.signage.drivers.mqtt import topics

NAME = "mqtt"


class MqttPlayerChannel:
    name = NAME

    def __init__(self, mqtt: MqttClient, prefix: str, store: str) -> None:
        self.mqtt = mqtt
        self.prefix = prefix
        self.store = store
        self._reports: ChannelReports | None = None

    # -- core -> players ------------------------------------------------------------------------

    def send_playlist(self, delivery: PlaylistDelivery) -> None:
        """Retained, so a player that (re)connects gets its schedule at once."""
        payload = protocol.playlist_payload(
            delivery.player,
            delivery.playlist,
            delivery.items,
            delivery.valid_until,
            delivery.media_base,
        )
        topic = topics.playlist_topic(self.prefix, self.store, delivery.player)
        self.mqtt.publish(topic, payload, retain=True)

    def send_override(self, players: Sequence[str], command: protocol.OverrideCommand) -> None:
        """Not retained: the core holds an override for an offline player instead."""
        if players:
            self._send(players, topics.override_topic, protocol.override_payload(command))

    def send_revert(self, players: Sequence[str], override_id: int) -> None:
        if players:
            self._send(players, topics.revert_topic, protocol.revert_payload(override_id))

    def _send(
        self, players: Sequence[str], topic_of: Callable[[str, str, str], str], payload: bytes
    ) -> None:
        for player in players:
            self.mqtt.publish(topic_of(self.prefix, self.store, player), payload, retain=False)

    # -- players and sensors -> core ---------------------------------------------------------------

    def open(self, reports: ChannelReports) -> None:
        self._reports = reports
        for topic_filter in topics.controller_subscriptions(self.prefix, self.store):
            # Proof of play is billed: acked to the broker only once it is committed.
            if topic_filter.endswith("/pop"):
                self.mqtt.subscribe_durable(topic_filter, self.handle_message)
            else:
                self.mqtt.subscribe(topic_filter, self.handle_message)

    def close(self) -> None:
        self._reports = None  # the connection belongs to the worker, which closes it

    def handle_message(
        self, topic: str, payload: bytes, ack: Callable[[], None] | None = None
    ) -> None:
        """Split, parse, report. `ack` (durable subscriptions) is passed on with plays, to be
        called once they are committed; for anything else it is called at once."""
        reports = self._reports
        if reports is None:
            # Closed: plays stay unacknowledged, so the broker delivers them again after the
            # next connect (the persistent session keeps them); nothing is lost meanwhile.
            return
        try:
            parsed = topics.parse_topic(self.prefix, topic)
        except protocol.SignageProtocolError as exc:
            # The incident names the topic with any refused sensor or player level replaced:
            # what such a level held (a MAC, a name) is never recorded.
            subject = topics.safe_topic(self.prefix, topic)
            reports.report(MalformedReported(NAME, "malformed_signage", subject, str(exc)))
            if ack is not None:
                ack()
            return
        if parsed.kind == "pop" and parsed.player:
            self._plays(reports, parsed.player, payload, ack)
            return
        if ack is not None:
            ack()
        if parsed.kind == "trigger" and parsed.sensor:
            reports.report(TriggerReported(NAME, parsed.sensor, payload))
        elif parsed.kind == "status" and parsed.player and payload:
            # An empty payload is a retained status being cleared, not a report.
            self._presence(reports, parsed.player, payload)

    def _presence(self, reports: ChannelReports, player: str, payload: bytes) -> None:
        try:
            status = protocol.parse_player_status(payload)
        except protocol.SignageProtocolError as exc:
            reports.report(MalformedReported(NAME, "malformed_status", player, str(exc)))
            return
        reports.report(
            PresenceReported(
                NAME,
                player,
                online=status.state == "online",
                now_playing=status.now_playing,
                override_id=status.override_id,
                cache_items=status.cache_items,
            )
        )

    def _plays(
        self,
        reports: ChannelReports,
        player: str,
        payload: bytes,
        ack: Callable[[], None] | None,
    ) -> None:
        try:
            reports.report(PlaysReported(NAME, player, protocol.parse_pops(payload), ack))
        except protocol.BatchError as exc:  # the good plays of a batch still count
            reports.report(PlaysReported(NAME, player, exc.valid, ack))
            reports.report(MalformedReported(NAME, "malformed_pop", player, str(exc)))
        except protocol.SignageProtocolError as exc:
            reports.report(MalformedReported(NAME, "malformed_pop", player, str(exc)))
            if ack is not None:
                ack()  # nothing in it can ever be stored; redelivery would not help
