"""Who is acting, and what each role may do."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from clientcard.errors import Forbidden


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Permission(enum.StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_WRITE = "customer.write"
    CUSTOMER_DELETE = "customer.delete"
    CUSTOMER_RESTORE = "customer.restore"
    CUSTOMER_READ_DELETED = "customer.read_deleted"
    HISTORY_READ = "history.read"
    USER_MANAGE = "user.manage"
    CASE_READ = "case.read"
    CASE_WRITE = "case.write"
    CASE_CONFIGURE = "case.configure"
    CAMPAIGN_READ = "campaign.read"
    CAMPAIGN_MANAGE = "campaign.manage"
    INTERACTION_READ = "interaction.read"
    INTERACTION_INGEST = "interaction.ingest"
    DASHBOARD_READ = "dashboard.read"
    # Changing or removing a card's owner when it is not yours (P4).
    CUSTOMER_REASSIGN = "customer.reassign"
    LEAD_STATUS_MANAGE = "lead_status.manage"
    CUSTOM_FIELD_MANAGE = "custom_field.manage"
    # The administration screens as a whole (each write there checks its own permission).
    ADMINISTRATION = "administration"


_EVERYONE = {
    Permission.CUSTOMER_READ,
    Permission.CUSTOMER_WRITE,
    Permission.HISTORY_READ,
    Permission.CASE_READ,
    Permission.CASE_WRITE,
    Permission.CAMPAIGN_READ,
    Permission.INTERACTION_READ,
    # Channel platforms push interactions with a token of an agent-role system user.
    Permission.INTERACTION_INGEST,
    Permission.DASHBOARD_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset(_EVERYONE),
    Role.SUPERVISOR: frozenset(_EVERYONE | {Permission.CUSTOMER_DELETE, Permission.DASHBOARD_READ}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """The user (or system process) on whose behalf a service function runs."""

    user_id: int | None
    username: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission, message: str | None = None) -> None:
        if not self.can(permission):
            raise Forbidden(message or f"role {self.role.value} may not {permission.value}")


def system_actor(name: str) -> Actor:
    """An actor for work no person started: ingestion, the scheduler, the demo loader."""
    return Actor(user_id=None, username=name, role=Role.ADMIN)
