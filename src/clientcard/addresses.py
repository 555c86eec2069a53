"""Reading addresses: phone numbers in E.164, normalized e-mail addresses, folded postal
addresses. Below every domain: contact points, customers, ingestion, users and custom fields
all read addresses the same way through here."""

from __future__ import annotations

import functools

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from clientcard.errors import Invalid
from clientcard.text import fold


def check_region(region: str, *, field: str = "region") -> str:
    region = region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid.field(field, f"{region!r} is not a known ISO 3166 country code")
    return region


def normalize_phone(value: str, *, region: str, field: str = "value") -> str:
    """The number in E.164. A number without a country code is read in `region`;
    an international prefix such as 00 is understood for that region."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid.field(field, f"is not a phone number: {exc._msg}") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid.field(field, f"is not a valid phone number (read in region {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=65_536)
def phone_line(value: str, region: str) -> tuple[str, bool] | None:
    """(E.164, whether it can be a mobile) of a number read in `region`, or None when it is
    not a valid number. Cached: the same callers ring again and again."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    # number_type does what is_valid_number does (UNKNOWN: not valid), and says the kind.
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None
    mobile = kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), mobile


def try_normalize_phone(value: str, *, region: str) -> str | None:
    try:
        return normalize_phone(value, region=region)
    except Invalid:
        return None


def normalize_email(value: str, *, field: str = "value") -> str:
    normalized, problem = _email_of(value.strip())
    if problem is not None:
        raise Invalid.field(field, f"is not a valid e-mail address: {problem}")
    return normalized


@functools.lru_cache(maxsize=65_536)
def _email_of(value: str) -> tuple[str, str | None]:
    """(normalized, None) or ("", why it is not valid). Cached, as `phone_line` is: the
    same senders write again and again."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return "", str(exc)
    return result.normalized.lower(), None


def normalize_text(value: str) -> str:
    """For addresses: folded, so that spelling variants of one address compare equal."""
    return fold(value)
