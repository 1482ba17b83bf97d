"""The MQTT driver's topics: the shapes of docs/protocol.md section S2, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esl_controller.signage.drivers.mqtt import topics
from esl_controller.signage.protocol import SignageProtocolError
from esl_controller.signage.triggers import SENSOR_ID, sensor_id_problem

# --- topics -------------------------------------------------------------------------------


def test_topics_have_the_documented_shapes() -> None:
    assert topics.playlist_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/playlist"
    assert topics.override_topic("a/b", "s1", "p1") == "a/b/s1/signage/player/p1/override"
    assert topics.revert_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/revert"
    assert topics.player_status_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/status"
    assert topics.pop_topic("esl", "s1", "p1") == "esl/s1/signage/player/p1/pop"
    assert topics.trigger_topic("esl", "s1", "cam-2") == "esl/s1/signage/trigger/cam-2"
    assert topics.controller_subscriptions("esl", "s1") == [
        "esl/s1/signage/player/+/status",
        "esl/s1/signage/player/+/pop",
        "esl/s1/signage/trigger/+",
    ]
    assert topics.player_subscriptions("esl", "s1", "p1") == [
        "esl/s1/signage/player/p1/playlist",
        "esl/s1/signage/player/p1/override",
        "esl/s1/signage/player/p1/revert",
    ]


@pytest.mark.parametrize("kind", ["playlist", "override", "revert", "status", "pop"])
def test_every_player_topic_parses_back(kind: str) -> None:
    build = {
        "playlist": topics.playlist_topic,
        "override": topics.override_topic,
        "revert": topics.revert_topic,
        "status": topics.player_status_topic,
        "pop": topics.pop_topic,
    }[kind]
    parsed = topics.parse_topic("acme/esl", build("acme/esl", "s1", "screen-07"))
    assert parsed == topics.SignageTopic("s1", kind, player="screen-07")


def test_a_trigger_topic_parses_to_its_sensor() -> None:
    parsed = topics.parse_topic("esl", "esl/s1/signage/trigger/cam-2")
    assert parsed == topics.SignageTopic("s1", "trigger", sensor="cam-2")


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        ("other/s1/signage/trigger/cam", "not under prefix"),
        ("esl/s1/signage/player/p1/reboot", "neither"),
        ("esl/s1/bs-01/ack", "neither"),
        ("esl/s1/signage/player/p1", "neither"),
        ("esl/s1/signage/trigger/cam/extra", "expected <store>/signage/trigger/<sensor>"),
        ("esl/s1/signage/player//status", "the player level must be a player id"),
        ("esl/s 1/signage/trigger/cam", "store level is not an id"),
    ],
)
def test_off_contract_topics_are_refused(topic: str, message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        topics.parse_topic("esl", topic)


@pytest.mark.parametrize(
    ("topic", "recorded"),
    [
        ("esl/s1/signage/trigger/a45e60c2197b", "esl/s1/signage/trigger/(refused)"),
        ("esl/s1/signage/trigger/Ana.Popescu", "esl/s1/signage/trigger/(refused)"),
        ("esl/s1/signage/trigger/cam-1/ana@example.ro", "esl/s1/signage/trigger/cam-1/(refused)"),
        ("esl/s1/signage/player/ana@example.ro/status", "esl/s1/signage/player/(refused)/status"),
        ("esl/s1/signage/player/0721234567/pop", "esl/s1/signage/player/(refused)/pop"),
        ("esl/s1/signage/player/p1/0721234567", "esl/s1/signage/player/p1/(refused)"),
    ],
)
def test_ids_in_topics_that_fail_their_pattern_are_refused_and_never_quoted(
    topic: str, recorded: str
) -> None:
    level = next(part for part in topic.split("/") if part not in recorded.split("/"))
    with pytest.raises(SignageProtocolError) as caught:
        topics.parse_topic("esl", topic)
    assert level not in str(caught.value)
    assert topics.safe_topic("esl", topic) == recorded


def test_valid_topics_are_recorded_as_they_are() -> None:
    for topic in ("esl/s1/signage/trigger/cam-1", "esl/s1/signage/player/Screen.01/status"):
        topics.parse_topic("esl", topic)
        assert topics.safe_topic("esl", topic) == topic


def test_a_sensor_id_off_its_pattern_never_becomes_a_trigger_topic() -> None:
    for sensor in ("Ana.Popescu", "a45e60c2197b", "cam 1", ""):
        with pytest.raises(SignageProtocolError, match="sensor id") as caught:
            topics.trigger_topic("esl", "s1", sensor)
        assert not sensor or sensor not in str(caught.value)


@pytest.mark.parametrize(
    ("prefix", "player", "message"),
    [("", "p1", "prefix"), ("esl/", "p1", "prefix level"), ("esl", "a+b", "player id")],
)
def test_bad_ids_never_become_topics(prefix: str, player: str, message: str) -> None:
    with pytest.raises(SignageProtocolError, match=message):
        topics.playlist_topic(prefix, "s1", player)


# --- properties ----------------------------------------------------------------------------

# Ids as the contract allows them: printable, no whitespace, '/', '+' or '#'.
ids = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp", "Co", "Cn"),
        blacklist_characters="/+#",
    ),
    min_size=1,
    max_size=64,
).filter(str.isprintable)
prefixes = st.lists(ids, min_size=1, max_size=3).map("/".join)
# Player and sensor levels are held to their id patterns (and to carry no personal data).
player_ids = st.from_regex(topics.PLAYER_ID, fullmatch=True).filter(
    lambda value: topics.player_id_problem(value) is None
)
sensor_ids = st.from_regex(SENSOR_ID, fullmatch=True).filter(
    lambda value: sensor_id_problem(value) is None
)
BUILDERS = {
    "playlist": topics.playlist_topic,
    "override": topics.override_topic,
    "revert": topics.revert_topic,
    "status": topics.player_status_topic,
    "pop": topics.pop_topic,
}


@given(prefix=prefixes, store=ids, player=player_ids, kind=st.sampled_from(sorted(BUILDERS)))
def test_every_built_player_topic_parses_back_to_its_parts(
    prefix: str, store: str, player: str, kind: str
) -> None:
    topic = BUILDERS[kind](prefix, store, player)
    assert topics.parse_topic(prefix, topic) == topics.SignageTopic(store, kind, player=player)


@given(prefix=prefixes, store=ids, sensor=sensor_ids)
def test_every_built_trigger_topic_parses_back_to_its_sensor(
    prefix: str, store: str, sensor: str
) -> None:
    topic = topics.trigger_topic(prefix, store, sensor)
    assert topics.parse_topic(prefix, topic) == topics.SignageTopic(store, "trigger", sensor=sensor)


@given(prefix=prefixes, tail=st.text(max_size=200))
def test_any_text_either_parses_or_is_refused_with_the_protocol_error(
    prefix: str, tail: str
) -> None:
    try:
        parsed = topics.parse_topic(prefix, f"{prefix}/{tail}")
    except SignageProtocolError:
        return
    rebuilt = (
        topics.trigger_topic(prefix, parsed.store, parsed.sensor)
        if parsed.kind == "trigger"
        else BUILDERS.get(parsed.kind, topics.playlist_topic)(prefix, parsed.store, parsed.player)
    )
    assert rebuilt == f"{prefix}/{tail}"
