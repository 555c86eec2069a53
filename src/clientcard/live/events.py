"""The live events, one small factory per kind, and the rule of when a contact pops a card.

On a customer's topic (every open card of that customer hears it):
- `interaction`: new interactions (`ids`, newest last, at most `MAX_IDS`; `count` of all);
- `timeline`: the timeline changed otherwise (an interaction moved away): reload it.

On an agent's topic (every page the agent has open hears it):
- `screen-pop`: open the card `customer_id` (`url`), for a contact on `channel`.
"""

from __future__ import annotations

import datetime as dt

from clientcard.live.bus import Event, agent_topic, customer_topic

MAX_IDS = 50
# Live conversations: the customer is on the line (voice) or typing now (web chat and
# WhatsApp, which contact centers handle as a chat). SMS, e-mail, social posts and web
# forms are answered later and do not interrupt an agent.
POP_CHANNELS = frozenset({"voice", "chat", "whatsapp"})
NO_POP_STATUSES = frozenset({"missed", "failed"})
# A contact that started longer ago than this is history being loaded, not one ringing now.
POP_WINDOW = dt.timedelta(minutes=10)


def interactions_added(customer_id: int, ids: list[int]) -> Event:
    return Event(
        customer_topic(customer_id),
        "interaction",
        {"customer_id": customer_id, "ids": ids[-MAX_IDS:], "count": len(ids)},
    )


def timeline_changed(customer_id: int) -> Event:
    return Event(customer_topic(customer_id), "timeline", {"customer_id": customer_id})


def screen_pop(
    agent: str, *, customer_id: int, channel: str, interaction_id: int | None = None
) -> Event:
    return Event(
        agent_topic(agent),
        "screen-pop",
        {
            "customer_id": customer_id,
            "channel": channel,
            "interaction_id": interaction_id,
            "url": f"/customers/{customer_id}",
        },
    )


def pops_card(
    *,
    channel: str,
    direction: str,
    agent: str | None,
    status: str | None,
    started_at: dt.datetime,
    ended_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Whether an ingested interaction opens its agent's browser at the customer's card: an
    inbound call or chat, routed to an agent, ringing or in progress now (not missed, not
    over, not started more than `POP_WINDOW` ago)."""
    return (
        bool(agent)
        and direction == "inbound"
        and channel in POP_CHANNELS
        and status not in NO_POP_STATUSES
        and ended_at is None
        and started_at >= now - POP_WINDOW
    )
