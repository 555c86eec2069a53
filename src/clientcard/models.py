"""Imports every domain's tables so that the metadata (and Alembic) sees all of them."""

from clientcard.audit.models import AuditEntry
from clientcard.auth.models import ApiToken, User
from clientcard.contacts.models import ContactPoint
from clientcard.customers.models import Customer

__all__ = ["ApiToken", "AuditEntry", "ContactPoint", "Customer", "User"]
