"""Live streams for the pages (Server-Sent Events), authenticated by the session cookie.

- `GET /live/me`: the logged-in agent's screen pops (`screen-pop`).
- `GET /live/customers/{id}`: a card's changes (`interaction`, `timeline`) and, so that a
  card page needs one connection only (browsers open at most six per host over HTTP/1.1),
  the agent's screen pops too.

Every stream starts with `retry` and an `event: ready`, sends a comment line every
`CLIENTCARD_LIVE_HEARTBEAT_SECONDS` (15) so that proxies keep it open, ends with
`event: logout` when the session has ended, and unsubscribes when the browser goes away.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

from fastapi import Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from clientcard.customers import service as customers
from clientcard.http import Services, services
from clientcard.live.bus import Event, agent_topic, bus_for, customer_topic
from clientcard.web import session as web_session
from clientcard.web.context import Page, page, web_router

router = web_router()
RETRY_MS = 2000
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


@router.get("/live/me")
async def live_me(
    request: Request, ctx: Page = Depends(page), svc: Services = Depends(services)
) -> Response:
    return _stream(request, ctx, svc, [agent_topic(ctx.actor.username)])


@router.get("/live/customers/{customer_id}")
async def live_customer(
    request: Request,
    customer_id: int,
    ctx: Page = Depends(page),
    svc: Services = Depends(services),
) -> Response:
    def check() -> None:  # the same rule as the card itself (404 for a card not shown)
        with ctx.db.read() as session:
            customers.read_card(session, actor=ctx.actor, customer_id=customer_id)

    await run_in_threadpool(check)
    topics = [customer_topic(customer_id), agent_topic(ctx.actor.username)]
    return _stream(request, ctx, svc, topics)


def _message(event: Event) -> str:
    data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event.name}\ndata: {data}\n\n"


async def _logged_in(request: Request, svc: Services) -> bool:
    try:
        await web_session.current_actor(request, svc)
    except web_session.LoginRequired:
        return False
    return True


def _stream(request: Request, ctx: Page, svc: Services, topics: Sequence[str]) -> Response:
    heartbeat = ctx.settings.live_heartbeat_seconds

    async def body() -> AsyncIterator[str]:
        # Subscribed inside the stream: whatever ends it (a disconnect cancels it) closes
        # the subscription, and a response never started holds none.
        async with await bus_for(ctx.db).subscribe(topics) as subscription:
            yield f"retry: {RETRY_MS}\nevent: ready\ndata: {{}}\n\n"
            while True:
                event = await subscription.get(timeout=heartbeat)
                if event is None:
                    if not await _logged_in(request, svc):
                        yield "event: logout\ndata: {}\n\n"
                        return
                    yield ": keep-alive\n\n"
                else:
                    yield _message(event)

    return StreamingResponse(body(), media_type="text/event-stream", headers=STREAM_HEADERS)
