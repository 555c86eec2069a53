"""Per-customer indicators (B1): cases by status, cases and interactions by campaign,
channel preference and the share of successful contacts per channel."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.auth.actor import Actor, Permission
from clientcard.campaigns.models import Campaign
from clientcard.cases.models import Case
from clientcard.errors import Invalid
from clientcard.interactions.models import Interaction
from clientcard.interactions.schemas import CampaignStats, ChannelStats, Dashboard

# A contact succeeded when the call was answered or the message delivered or read; an
# inbound message reached us, so it succeeded too.
SUCCESS_STATUSES = ("answered", "delivered", "read")
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def customer_dashboard(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> Dashboard:
    access.readable(session, actor, customer_id, permission=Permission.DASHBOARD_READ)
    if since and until and since >= until:
        raise Invalid.field("until", "must be after since")

    def window(column):
        return [
            c
            for c in (since and column >= since, until and column < until)
            if c is not None and c is not False
        ]

    case_rows = session.execute(
        select(Case.status, Case.campaign_id, func.count())
        .where(Case.customer_id == customer_id, *window(Case.created_at))
        .group_by(Case.status, Case.campaign_id)
    ).all()
    by_status: dict[str, int] = defaultdict(int)
    cases_by_campaign: dict[int | None, int] = defaultdict(int)
    for status, campaign_id, count in case_rows:
        by_status[status] += count
        cases_by_campaign[campaign_id] += count

    rows = session.execute(
        select(
            Interaction.channel,
            Interaction.direction,
            Interaction.status,
            Interaction.campaign_id,
            func.count(),
            func.max(Interaction.started_at),
        )
        .where(Interaction.customer_id == customer_id, *window(Interaction.started_at))
        .group_by(
            Interaction.channel, Interaction.direction, Interaction.status, Interaction.campaign_id
        )
    ).all()
    channels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last_used: dict[str, dt.datetime] = {}
    interactions_by_campaign: dict[int | None, int] = defaultdict(int)
    for channel, direction, status, campaign_id, count, latest in rows:
        stats = channels[channel]
        stats[direction] += count
        if status in SUCCESS_STATUSES or (
            direction == "inbound" and channel != "voice" and status in (None, "sent")
        ):
            stats["successful"] += count
        interactions_by_campaign[campaign_id] += count
        if latest is not None and (channel not in last_used or last_used[channel] < latest):
            last_used[channel] = latest

    campaign_ids = {c for c in (*cases_by_campaign, *interactions_by_campaign) if c is not None}
    names = (
        dict(
            session.execute(
                select(Campaign.id, Campaign.name).where(Campaign.id.in_(campaign_ids))
            ).all()
        )
        if campaign_ids
        else {}
    )

    channel_stats = []
    for channel, stats in sorted(channels.items()):
        total = stats["inbound"] + stats["outbound"]
        channel_stats.append(
            ChannelStats(
                channel=channel,
                inbound=stats["inbound"],
                outbound=stats["outbound"],
                total=total,
                successful=stats["successful"],
                success_rate=round(stats["successful"] / total, 4) if total else None,
            )
        )
    preferred = max(
        channel_stats,
        key=lambda c: (c.total, last_used.get(c.channel) or _NEVER),
        default=None,
    )
    return Dashboard(
        since=since,
        until=until,
        cases_by_status=dict(sorted(by_status.items())),
        by_campaign=[
            CampaignStats(
                campaign_id=cid,
                name=names.get(cid) if cid else None,
                cases=cases_by_campaign.get(cid, 0),
                interactions=interactions_by_campaign.get(cid, 0),
            )
            for cid in sorted(
                {*cases_by_campaign, *interactions_by_campaign}, key=lambda c: (c is None, c or 0)
            )
        ],
        channels=channel_stats,
        preferred_channel=preferred.channel if preferred else None,
    )
