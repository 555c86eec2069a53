"""Campaigns (inbound and outbound) with their settings and agent membership."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.auth.models import User
from clientcard.base import utcnow
from clientcard.campaigns.models import Campaign, CampaignAgent
from clientcard.campaigns.schemas import CampaignAgentsSet, CampaignCreate, CampaignUpdate
from clientcard.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
    PreconditionFailed,
)

AUDITED_FIELDS = ("name", "direction", "description", "active", "settings")
NOT_NULLABLE = frozenset({"name", "direction", "active", "settings"})


@dataclass(frozen=True)
class CampaignView:
    """A campaign with the user ids of its agents."""

    campaign: Campaign
    agents: list[int]


def snapshot(campaign: Campaign) -> dict[str, Any]:
    return {name: getattr(campaign, name) for name in AUDITED_FIELDS}


def _agents(session: Session, campaign_ids: Sequence[int]) -> dict[int, list[int]]:
    """The members of several campaigns in one query."""
    members: dict[int, list[int]] = {campaign_id: [] for campaign_id in campaign_ids}
    if campaign_ids:
        rows = session.execute(
            select(CampaignAgent.campaign_id, CampaignAgent.user_id)
            .where(CampaignAgent.campaign_id.in_(campaign_ids))
            .order_by(CampaignAgent.campaign_id, CampaignAgent.user_id)
        )
        for campaign_id, user_id in rows:
            members[campaign_id].append(user_id)
    return members


def _view(session: Session, campaign: Campaign) -> CampaignView:
    return CampaignView(campaign, _agents(session, [campaign.id])[campaign.id])


def _check_name_free(session: Session, name: str, *, self_id: int | None) -> None:
    other = session.scalars(
        select(Campaign.id).where(Campaign.name == name, Campaign.id != (self_id or 0))
    ).first()
    if other is not None:
        raise Conflict(
            f"campaign {other} is already called {name!r}",
            errors=[FieldError("name", "is taken by another campaign")],
            existing_id=other,
        )


def _flush_guarded(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the campaign name was taken at the same time",
            errors=[FieldError("name", "is taken by another campaign")],
        ) from exc


def list_campaigns(
    session: Session, *, actor: Actor, active: bool | None = None
) -> list[CampaignView]:
    """Every campaign, by name."""
    actor.require(Permission.CAMPAIGN_READ)
    query = select(Campaign).order_by(Campaign.name, Campaign.id)
    if active is not None:
        query = query.where(Campaign.active.is_(active))
    campaigns = list(session.scalars(query))
    members = _agents(session, [c.id for c in campaigns])
    return [CampaignView(c, members[c.id]) for c in campaigns]


def get_campaign(session: Session, *, actor: Actor, campaign_id: int) -> CampaignView:
    actor.require(Permission.CAMPAIGN_READ)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return _view(session, campaign)


def create_campaign(session: Session, *, actor: Actor, data: CampaignCreate) -> CampaignView:
    actor.require(Permission.CAMPAIGN_MANAGE)
    _check_name_free(session, data.name, self_id=None)
    now = utcnow()
    campaign = Campaign(
        **data.model_dump(),
        version=1,
        created_at=now,
        created_by=actor.username,
        updated_at=now,
        updated_by=actor.username,
    )
    session.add(campaign)
    _flush_guarded(session)
    audit.record_created(
        session,
        actor=actor,
        entity="campaign",
        entity_id=campaign.id,
        customer_id=None,
        snapshot=snapshot(campaign),
    )
    return CampaignView(campaign, [])


def _for_write(session: Session, campaign_id: int, expected_version: int | None) -> Campaign:
    campaign = session.scalars(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    ).one_or_none()
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    if expected_version is not None and expected_version != campaign.version:
        raise PreconditionFailed(
            f"campaign {campaign_id} is at version {campaign.version}, not {expected_version}; "
            "reload it and apply the change again",
            current_version=campaign.version,
        )
    return campaign


def _touch(campaign: Campaign, actor: Actor) -> None:
    campaign.version += 1
    campaign.updated_at = utcnow()
    campaign.updated_by = actor.username


def update_campaign(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    data: CampaignUpdate,
    expected_version: int | None,
) -> CampaignView:
    actor.require(Permission.CAMPAIGN_MANAGE)
    campaign = _for_write(session, campaign_id, expected_version)
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in sorted(NOT_NULLABLE & given.keys()):
        if given[name] is None:
            errors.add(name, "may not be null")
    errors.raise_if_any()
    before = snapshot(campaign)
    changes = audit.diff(before, {**before, **given})
    if not changes:
        return _view(session, campaign)
    if "name" in changes:
        _check_name_free(session, given["name"], self_id=campaign.id)
    for name in changes:
        setattr(campaign, name, given[name])
    _touch(campaign, actor)
    _flush_guarded(session)
    audit.record(
        session,
        actor=actor,
        action="campaign.updated",
        entity="campaign",
        entity_id=campaign.id,
        customer_id=None,
        changes=changes,
    )
    return _view(session, campaign)


def set_agents(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    data: CampaignAgentsSet,
    expected_version: int | None,
) -> CampaignView:
    """Makes the campaign's membership exactly the users given."""
    actor.require(Permission.CAMPAIGN_MANAGE)
    campaign = _for_write(session, campaign_id, expected_version)
    wanted = sorted(set(data.user_ids))
    known = set(session.scalars(select(User.id).where(User.id.in_(wanted)))) if wanted else set()
    errors = ErrorCollector()
    for index, user_id in enumerate(data.user_ids):
        if user_id not in known:
            errors.add(f"user_ids.{index}", f"user {user_id} does not exist")
    errors.raise_if_any()

    before = _agents(session, [campaign.id])[campaign.id]
    if before == wanted:
        return CampaignView(campaign, before)
    removed = set(before) - set(wanted)
    if removed:
        session.execute(
            delete(CampaignAgent).where(
                CampaignAgent.campaign_id == campaign.id, CampaignAgent.user_id.in_(removed)
            )
        )
    session.add_all(
        CampaignAgent(campaign_id=campaign.id, user_id=user_id)
        for user_id in wanted
        if user_id not in before
    )
    _touch(campaign, actor)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="campaign.updated",
        entity="campaign",
        entity_id=campaign.id,
        customer_id=None,
        changes={"agents": {"before": before, "after": wanted}},
    )
    return CampaignView(campaign, wanted)


def campaigns_of_user(session: Session, *, user_id: int) -> list[int]:
    """The ids of the campaigns a user belongs to (for K7's visibility rule, later)."""
    return list(
        session.scalars(
            select(CampaignAgent.campaign_id)
            .where(CampaignAgent.user_id == user_id)
            .order_by(CampaignAgent.campaign_id)
        )
    )
