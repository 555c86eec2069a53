"""Imports every domain's tables so that the metadata (and Alembic) sees all of them."""

from clientcard.accounts.models import Account, Relation
from clientcard.attachments.models import Attachment
from clientcard.audit.models import AuditEntry
from clientcard.auth.models import ApiToken, User
from clientcard.campaigns.models import Campaign, CampaignAgent, CampaignRecord
from clientcard.cases.models import Case, CaseComment, CaseNote, CaseType, Counter
from clientcard.contacts.models import ContactPoint
from clientcard.custom_fields.models import CustomField, CustomGroup, CustomGroupRecord
from clientcard.customers.models import Customer
from clientcard.interactions.models import CustomerNote, Interaction
from clientcard.statuses.models import LeadStatus, ScheduledChange

__all__ = [
    "Account",
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "Campaign",
    "CampaignAgent",
    "CampaignRecord",
    "Case",
    "CaseComment",
    "CaseNote",
    "CaseType",
    "ContactPoint",
    "Counter",
    "CustomField",
    "CustomGroup",
    "CustomGroupRecord",
    "Customer",
    "CustomerNote",
    "Interaction",
    "LeadStatus",
    "Relation",
    "ScheduledChange",
    "User",
]
