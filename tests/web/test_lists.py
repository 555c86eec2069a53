"""The pages read the domain's fixed lists; the words they show for the values (each with its
gettext context) cover exactly the values the domain defines."""

from __future__ import annotations

import pytest

from clientcard.auth.actor import Role
from clientcard.cases.models import NOTE_COLORS, PRIORITIES
from clientcard.cases.models import STATUSES as CASE_STATUSES
from clientcard.contacts.models import CONTACT_TYPES, LABELS
from clientcard.customers.models import GENDERS, KINDS
from clientcard.interactions.models import CHANNELS
from clientcard.interactions.models import STATUSES as INTERACTION_STATUSES
from clientcard.web.render import CHANNEL_NAMES, VALUE_LABELS


@pytest.mark.parametrize(
    ("list_name", "values"),
    [
        ("case status", CASE_STATUSES),
        ("priority", PRIORITIES),
        ("contact type", CONTACT_TYPES),
        ("contact label", LABELS),
        ("kind", KINDS),
        ("gender", GENDERS),
        ("colour", NOTE_COLORS),
        ("role", tuple(Role)),
        ("interaction status", INTERACTION_STATUSES),
    ],
)
def test_every_value_of_a_list_has_its_words(list_name: str, values: tuple[str, ...]) -> None:
    assert set(VALUE_LABELS[list_name]) == set(values)


def test_every_channel_has_its_name() -> None:
    assert set(CHANNEL_NAMES) == set(CHANNELS)
