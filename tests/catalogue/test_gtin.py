from __future__ import annotations

import random

import pytest

from esl_controller.catalogue.gtin import (
    InvalidGTIN,
    display_gtin,
    gtin_check_digit,
    gtin_forms,
    gtin_key,
    is_valid_gtin,
    to_gtin13,
    to_gtin14,
    validate_gtin,
)

# Published GTINs of every length (GS1 examples and real products).
KNOWN_VALID = ["4006381333931", "5901234123457", "036000291452", "96385074", "10614141000415"]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_gtins_validate(code: str) -> None:
    assert validate_gtin(code) == code
    assert is_valid_gtin(code)


def test_check_digit_of_known_bodies() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("590123412345") == 7
    assert gtin_check_digit("03600029145") == 2
    assert gtin_check_digit("9638507") == 4


def test_spaces_are_stripped() -> None:
    assert validate_gtin(" 5 901234 123457 ") == "5901234123457"


def test_wrong_check_digit_is_reported_not_fixed() -> None:
    with pytest.raises(InvalidGTIN, match="check digit is 3, expected 7"):
        validate_gtin("5901234123453")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("59012341234", "has 11 digits; expected 8, 12, 13 or 14"),
        ("590123412345700", "has 15 digits"),
        ("59012341234X7", "non-digits: 'X'"),
        ("5901234-123457", "non-digits: '-'"),
        ("５９０１２３４１２３４５７", "non-digits"),  # full-width digits are not GTIN digits
    ],
)
def test_bad_codes_say_what_is_wrong(code: str, message: str) -> None:
    with pytest.raises(InvalidGTIN, match=message):
        validate_gtin(code)
    assert not is_valid_gtin(code)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidGTIN, match="must be a string, got int"):
        validate_gtin(5901234123457)  # type: ignore[arg-type]


def test_invalid_gtin_is_a_value_error() -> None:
    assert issubclass(InvalidGTIN, ValueError)


def test_check_digit_refuses_non_digit_body() -> None:
    with pytest.raises(InvalidGTIN, match="digits"):
        gtin_check_digit("12a")


def test_every_body_with_its_check_digit_validates_and_a_changed_digit_fails() -> None:
    rng = random.Random(2019)
    for _ in range(500):
        length = rng.choice((7, 11, 12, 13))
        body = "".join(rng.choice("0123456789") for _ in range(length))
        code = body + str(gtin_check_digit(body))
        assert validate_gtin(code) == code
        position = rng.randrange(len(code))
        changed = str((int(code[position]) + rng.randint(1, 9)) % 10)
        tampered = code[:position] + changed + code[position + 1 :]
        # Mod-10 with weights 1 and 3 catches every single-digit error.
        assert not is_valid_gtin(tampered), (code, tampered)


def test_to_gtin13() -> None:
    assert to_gtin13("036000291452") == "0036000291452"
    assert to_gtin13("5901234123457") == "5901234123457"
    assert to_gtin13("05901234123457") == "5901234123457"


def test_to_gtin13_refuses_what_has_no_ean13_form() -> None:
    with pytest.raises(InvalidGTIN, match="GTIN-8"):
        to_gtin13("96385074")
    with pytest.raises(InvalidGTIN, match="indicator digit 1"):
        to_gtin13("10614141000415")
    with pytest.raises(InvalidGTIN, match="check digit"):
        to_gtin13("036000291453")


def test_to_gtin14_pads_every_length() -> None:
    assert to_gtin14("96385074") == "00000096385074"
    assert to_gtin14("036000291452") == "00036000291452"
    assert to_gtin14("5901234123457") == "05901234123457"
    assert to_gtin14("10614141000415") == "10614141000415"


@pytest.mark.parametrize(
    ("forms", "key", "shown"),
    [
        (["036000291452", "0036000291452", "00036000291452"], "00036000291452", "0036000291452"),
        (["4006381333931", "04006381333931"], "04006381333931", "4006381333931"),
        (["96385074", "00000096385074"], "00000096385074", "96385074"),
        (["10614141000415"], "10614141000415", "10614141000415"),
    ],
)
def test_every_form_of_a_gtin_has_one_key_and_one_display_form(
    forms: list[str], key: str, shown: str
) -> None:
    assert {gtin_key(form) for form in forms} == {key}
    assert {display_gtin(form) for form in forms} == {shown}
    assert set(forms) <= set(gtin_forms(key))
    assert all(is_valid_gtin(form) for form in gtin_forms(key))


def test_a_key_keeps_the_check_digit_rule() -> None:
    with pytest.raises(InvalidGTIN, match="check digit"):
        gtin_key("036000291453")
    with pytest.raises(InvalidGTIN, match="check digit"):
        display_gtin("00036000291453")


def test_forms_never_drop_a_significant_digit() -> None:
    assert gtin_forms("10614141000415") == ("10614141000415",)
    assert gtin_forms("04006381333931") == ("04006381333931", "4006381333931")
