"""`phone_line`, the cached reading of a number that ingestion and the screen pop use,
agrees with `normalize_phone` on what is valid and on its E.164 form, and says whether the
number can be a mobile."""

from __future__ import annotations

import random

import pytest

from clientcard.addresses import phone_line, try_normalize_phone

KNOWN = [
    "601 234 567",
    "+48 22 123 45 67",
    "0048601234567",
    "+34 612 34 56 78",
    "+44 7911 123456",
    "+1 202 555 0143",
    "+1 416 555 0199",
    "+49 30 123456",
    "+33 6 12 34 56 78",
    "+800 1234 5678",
    "12345",
    "+999 1234",
    "not a number",
]


def _random_numbers(count: int) -> list[str]:
    rng = random.Random(3)
    codes = ["1", "44", "48", "34", "49", "33", "39", "55", "52", "91"]
    return [f"+{rng.choice(codes)}{rng.randrange(10**6, 10**11)}" for _ in range(count)]


@pytest.mark.parametrize("region", ["PL", "ES", "US"])
def test_phone_line_agrees_with_normalize_phone(region: str):
    for value in KNOWN + _random_numbers(1000):
        line = phone_line(value, region)
        assert (line[0] if line else None) == try_normalize_phone(value, region=region), value


def test_phone_line_tells_mobiles_from_landlines():
    assert phone_line("601 234 567", "PL") == ("+48601234567", True)
    assert phone_line("22 123 45 67", "PL") == ("+48221234567", False)
    assert phone_line("12345", "PL") is None
