"""Normalization rules, including generated inputs."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientcard.addresses import normalize_email, normalize_phone
from clientcard.errors import Invalid
from clientcard.text import fold, words


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("601 234 567", "PL", "+48601234567"),
        ("0048 601-234-567", "PL", "+48601234567"),
        ("+48 (601) 234 567", "ES", "+48601234567"),
        ("612 34 56 78", "ES", "+34612345678"),
        ("07911 123456", "GB", "+447911123456"),
        ("(212) 123-4567", "US", None),
        ("(212) 736-5000", "US", "+12127365000"),
    ],
)
def test_phone_notations(raw, region, e164):
    if e164 is None:
        with pytest.raises(Invalid):
            normalize_phone(raw, region=region)
    else:
        assert normalize_phone(raw, region=region) == e164


@given(
    region=st.sampled_from(["PL", "ES", "GB", "US", "DE", "FR", "MX", "AR"]),
    data=st.data(),
)
@settings(max_examples=150, deadline=None)
def test_any_formatting_of_a_valid_number_normalizes_to_the_same_e164(region, data):
    example = phonenumbers.example_number_for_type(
        region,
        data.draw(
            st.sampled_from(
                [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
            )
        ),
    )
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    style = data.draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ]
        )
    )
    written = phonenumbers.format_number(example, style)
    assert normalize_phone(written, region=region) == e164


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_phone_parsing_never_crashes(text):
    try:
        result = normalize_phone(text, region="PL")
    except Invalid as exc:
        assert exc.errors[0].field == "value"
    else:
        assert result.startswith("+")


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_email_parsing_never_crashes(text):
    try:
        result = normalize_email(text)
    except Invalid as exc:
        assert exc.errors[0].field == "value"
    else:
        assert result == result.lower() and "@" in result


def test_email_is_lower_cased():
    assert normalize_email("  Ana.Kowalska@Example.PL ") == "ana.kowalska@example.pl"


def test_fold_removes_accents_and_polish_letters():
    assert fold("Łukasz  Dąbrowski-Núñez") == "lukasz dabrowski-nunez"
    assert words("Łukasz Dąbrowski-Núñez") == ["lukasz", "dabrowski", "nunez"]
