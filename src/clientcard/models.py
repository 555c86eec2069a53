"""Imports every domain's tables so that the metadata (and Alembic) sees all of them."""

from clientcard.audit.models import AuditEntry
from clientcard.auth.models import ApiToken, User
from clientcard.campaigns.models import Campaign, CampaignAgent
from clientcard.cases.models import Case, CaseComment, CaseNote, CaseType, Counter
from clientcard.contacts.models import ContactPoint
from clientcard.customers.models import Customer
from clientcard.interactions.models import CustomerNote, Interaction

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Campaign",
    "CampaignAgent",
    "Case",
    "CaseComment",
    "CaseNote",
    "CaseType",
    "ContactPoint",
    "Counter",
    "Customer",
    "CustomerNote",
    "Interaction",
    "User",
]
