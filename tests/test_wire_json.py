"""wire_json: the shape caps (size, depth, digits) before parsing, and that every refusal is
the protocol's own error type, so callers record an incident rather than a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller import wire_json
from esl_controller.esl.drivers.mqtt import protocol as esl_protocol
from esl_controller.signage import protocol as signage_protocol


class WireError(ValueError):
    pass


def depth_of(document: Any) -> int:
    if isinstance(document, list):
        return 1 + max((depth_of(item) for item in document), default=0)
    if isinstance(document, dict):
        return 1 + max((depth_of(item) for item in document.values()), default=0)
    return 0


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**29) + 1, max_value=10**29 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)  # brackets, quotes, backslashes and digits inside strings
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_nesting_depth_agrees_with_a_recursive_count(document: Any):
    assert wire_json.nesting_depth(document) == depth_of(document)
    assert wire_json.nesting_depth(document, limit=1) == min(depth_of(document), 2)


@settings(max_examples=300, deadline=None)
@given(documents.filter(lambda document: depth_of(document) <= wire_json.MAX_DEPTH))
def test_documents_within_the_caps_decode_to_what_was_sent_in_nfc(document: Any):
    payload = json.dumps(document, ensure_ascii=False).encode()
    if wire_json.unstorable_text(document):  # a NUL somewhere: no database stores it
        with pytest.raises(WireError, match="NUL character"):
            wire_json.decode_json("msg", payload, WireError)
    else:
        decoded = wire_json.decode_json("msg", payload, WireError)
        assert decoded == wire_json.nfc_document(document)
        assert json.dumps(decoded) == json.dumps(wire_json.nfc_document(decoded))  # idempotent


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_decode_or_raise_the_protocol_error(payload: bytes):
    try:
        wire_json.decode_json("msg", payload, WireError)
    except WireError as exc:
        assert str(exc).startswith("msg: ")


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=wire_json.MAX_DEPTH + 1, max_value=5000),
    st.sampled_from(["[", '{"a":']),
)
def test_nesting_beyond_the_cap_is_refused_before_parsing(depth: int, opener: str):
    closer = "]" if opener == "[" else "}"
    payload = opener * depth + "1" + closer * depth
    with pytest.raises(WireError, match=r"nested (too deeply|more than 32 levels)"):
        wire_json.decode_json("msg", payload, WireError)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=wire_json.MAX_NUMBER_DIGITS + 1, max_value=20_000))
def test_numbers_with_too_many_digits_are_refused(digits: int):
    payload = '{"seq": ' + "9" * digits + "}"
    with pytest.raises(WireError, match=f"a number of {digits:,} digits"):
        wire_json.decode_json("msg", payload, WireError)


def test_long_digit_strings_are_fine_inside_strings():
    payload = json.dumps({"firmware": "1" * 5000, "note": "[" * 1000})
    assert wire_json.decode_json("msg", payload, WireError)["firmware"] == "1" * 5000


def test_the_size_cap_comes_before_parsing():
    payload = b'"' + b"a" * wire_json.MAX_WIRE_BYTES + b'"'
    with pytest.raises(WireError, match=r"bytes; at most 1,048,576"):
        wire_json.decode_json("msg", payload, WireError)
    assert wire_json.decode_json("msg", b"[1]", WireError, max_bytes=3) == [1]
    with pytest.raises(WireError, match="4 bytes; at most 3"):
        wire_json.decode_json("msg", b"[10]", WireError, max_bytes=3)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_refused(constant: str):
    with pytest.raises(WireError, match=f"{constant} is not a JSON number"):
        wire_json.decode_json("msg", '{"temperature": ' + constant + "}", WireError)


def test_syntax_errors_may_have_their_own_type():
    class Unparsable(ValueError):
        pass

    with pytest.raises(Unparsable, match="not valid JSON"):
        wire_json.decode_json("msg", b'{"a": ', WireError, syntax_error=Unparsable)
    with pytest.raises(WireError, match="nested"):
        wire_json.decode_json("msg", b"[" * 5000, WireError, syntax_error=Unparsable)


def test_a_deep_document_already_decoded_is_measured_without_recursion():
    document: Any = 1
    for _ in range(100_000):
        document = [document]
    assert wire_json.nesting_depth(document) == 100_000


# --- through the protocol modules: their own error types ----------------------------------

HOSTILE = [
    ("deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("deep-object", '{"a":' * 40 + "1" + "}" * 40, "nested more than 32 levels"),
    ("digits", '{"label": "L1", "seq": ' + "7" * 4301 + "}", "a number of 4,301 digits"),
    ("huge", "[" + "1," * 600_000 + "1]", "bytes; at most"),
]


@pytest.mark.parametrize(("case", "payload", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_esl_acks_and_status_raise_protocol_error(case: str, payload: str, reason: str):
    for parse in (esl_protocol.parse_acks, esl_protocol.parse_status):
        with pytest.raises(esl_protocol.ProtocolError, match=reason):
            parse(payload.encode())


@pytest.mark.parametrize(("case", "payload", "reason"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_signage_messages_raise_signage_protocol_error(case: str, payload: str, reason: str):
    parsers = (
        signage_protocol.parse_pops,
        signage_protocol.parse_player_status,
        signage_protocol.parse_playlist_message,
    )
    for parse in parsers:
        with pytest.raises(signage_protocol.SignageProtocolError, match=reason):
            parse(payload.encode())


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"item": "\\ud800x"}', "not valid Unicode"),
        (b'["ok", {"\\udfff": 1}]', "not valid Unicode"),
        (b'{"name": "a\\u0000b"}', "NUL character"),
        ('{"name": "\ud800"}', "not valid Unicode"),  # already-decoded text
    ],
)
def test_text_no_database_can_store_is_refused(payload, reason):
    with pytest.raises(ValueError, match=f"^pop: text .*{reason}"):
        wire_json.decode_json("pop", payload, ValueError)


def test_surrogate_pairs_and_an_escaped_backslash_are_ordinary_text():
    document = wire_json.decode_json(
        "pop", b'["\\ud83d\\ude00", "\\\\ud800", "\\u00e9"]', ValueError
    )
    assert document == ["\U0001f600", "\\ud800", "é"]


def test_unstorable_text_is_found_in_keys_and_deep_lists():
    assert wire_json.unstorable_text({"a": [[["ok", "\ud800"]]]})
    assert wire_json.unstorable_text({"k\x00": 1})
    assert wire_json.unstorable_text({"a": ["ok", 1, None, {"b": "ș"}]}) is None


def test_text_comes_out_in_nfc_whatever_the_sender_composed():
    from esl_controller.wire_json import decode_json

    decomposed = '{"name": "Cafe\\u0301 Lavazza", "Bra\\u0302nza\\u0306": ["s\\u0326"]}'
    document = decode_json("test", decomposed.encode(), ValueError)
    assert document == {"name": "Café Lavazza", "Brânză": ["ș"]}
    raw = '{"name": "Cafe\u0301"}'.encode()  # the combining accent as raw UTF-8
    assert decode_json("test", raw, ValueError) == {"name": "Café"}
    assert decode_json("test", b'{"plain": "ascii", "n": 1}', ValueError) == {
        "plain": "ascii",
        "n": 1,
    }
