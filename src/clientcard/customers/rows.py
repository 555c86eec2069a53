"""The rows of a new customer and of its contact points, built one way for every path that
creates customers: the service's ORM path (`create_customers`), its bulk path for
ingestion's new leads (`create_leads`) and the bench generator (bench/generate.py), which
writes a million cards with COPY.

The values going in are already checked (the service's profile rules, the contact points'
normalization); what is built here is everything a new row holds beyond them: the search
and sort columns derived from the profile, and the first version (who made it and when).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from clientcard.text import fold

# The profile fields the search and sort columns are derived from.
DERIVED_FROM = ("kind", "first_name", "last_name", "company_name", "identification_number")


@functools.lru_cache(maxsize=65_536)
def _folded_name(name: str | None) -> str:
    """A folded name. Cached: names repeat across customers (identification numbers, which
    do not, are folded without the cache)."""
    return fold(name)


def derived_columns(profile: Mapping[str, Any]) -> dict[str, str]:
    """The search and sort columns of a profile: `search_text` is a space and the folded
    names, company and identification number; `sort_name` the folded company name, or last
    and first name. (Folding words one by one gives what folding them joined gives: folding
    ends in splitting on what is not a word and joining with single spaces.)"""
    first = _folded_name(profile["first_name"])
    last = _folded_name(profile["last_name"])
    company = _folded_name(profile["company_name"])
    number = fold(profile["identification_number"])
    search_text = " " + " ".join([p for p in (first, last, company, number) if p])
    person = f"{last} {first}" if last and first else last or first
    return {
        "search_text": search_text,
        "sort_name": company if profile["kind"] == "company" else person,
    }


def new_rows(
    profile: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    *,
    by: str,
    at: dt.datetime | str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new customer's row and its contact points' rows, made by `by` at `at`.

    `profile`: the checked profile (`customers.service.PROFILE_FIELDS`); the row adds the
    derived columns and the first version. `points`: each point's checked columns (type,
    label, primary, value, normalized and the type's own parts, as
    `contacts.service.new_point_rows` gives them); each row adds version 1 and the same
    instant. Ids, and the points' customer id, are the caller's: the ORM's flush, or ids
    reserved for a bulk insert. `at` is a time, or its text for a bulk load."""
    customer = {
        **profile,
        **derived_columns(profile),
        "version": 1,
        "created_at": at,
        "created_by": by,
        "updated_at": at,
        "updated_by": by,
    }
    point_rows = [{**point, "version": 1, "created_at": at, "updated_at": at} for point in points]
    return customer, point_rows
