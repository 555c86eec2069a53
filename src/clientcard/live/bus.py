"""Publish/subscribe for live events.

A service queues events with `publish(session, events)`; they leave once the unit of work
has committed (`db.after_commit`), in one publish per unit of work, and never after a
rollback. Each `Database` has one bus (`bus_for`):

- A database one process serves: `MemoryBus`, fan-out to the subscribers of this process.
- A database any number of processes serve: `ChannelBus` sends the events on the
  database's channel `clientcard_live` between processes (`db.notify`, one statement for
  the whole unit of work), and one listening connection per process (in a daemon thread,
  opened with the first subscriber) fans out to the local subscribers, the publishing
  process's own included. A lost listening connection is reopened; its subscribers then get
  a `resync` event, since events may have been missed meanwhile.

Subscribers live on an asyncio loop (an SSE stream); publishing is thread-safe and never
blocks on a slow subscriber: a full queue drops events and the subscriber gets `resync`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from clientcard.db import Database, after_commit, database_of
from clientcard.db import notify as channels

log = logging.getLogger("clientcard.live")
CHANNEL = "clientcard_live"
MAX_PAYLOAD = channels.MAX_PAYLOAD
QUEUE_SIZE = 256
READY_TIMEOUT = 10.0
_PENDING = "clientcard_live_pending"


@dataclass(frozen=True)
class Event:
    """One event: `topic` says who hears it (`customer:12`, `agent:ana`), `name` is the SSE
    event name, `data` its JSON body."""

    topic: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps(
            {"t": self.topic, "n": self.name, "d": self.data},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def decode(cls, payload: str) -> Event:
        body = json.loads(payload)
        return cls(topic=body["t"], name=body["n"], data=body.get("d") or {})


def customer_topic(customer_id: int) -> str:
    return f"customer:{customer_id}"


def agent_topic(username: str) -> str:
    return f"agent:{username}"


RESYNC = "resync"


class Subscription:
    """The events of some topics for one listener, delivered on its event loop."""

    def __init__(self, bus: MemoryBus, topics: Sequence[str], loop: asyncio.AbstractEventLoop):
        self.bus = bus
        self.topics = tuple(topics)
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self.closed = False
        self._lagged = False

    def deliver(self, event: Event) -> None:
        """On the subscriber's loop."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self._lagged = True

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when `timeout` seconds pass without one. A subscriber
        that fell behind gets one `resync` event instead of what it missed."""
        if self._lagged:
            self._lagged = False
            while not self.queue.empty():
                self.queue.get_nowait()
            return Event(self.topics[0], RESYNC)
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.bus._remove(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class MemoryBus:
    """Fan-out to the subscribers of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def subscribe(self, topics: Sequence[str]) -> Subscription:
        """A subscription on the running loop; close it when done (or use `async with`)."""
        subscription = Subscription(self, topics, asyncio.get_running_loop())
        with self._lock:
            for topic in subscription.topics:
                self._subscribers[topic].add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            for topic in subscription.topics:
                listeners = self._subscribers.get(topic)
                if listeners is not None:
                    listeners.discard(subscription)
                    if not listeners:
                        del self._subscribers[topic]

    def subscriber_count(self) -> int:
        with self._lock:
            return len({s for listeners in self._subscribers.values() for s in listeners})

    def publish(self, events: Sequence[Event]) -> None:
        """Sends events now (from any thread): call it after the commit."""
        self._fan_out(events)

    def _fan_out(self, events: Iterable[Event]) -> None:
        with self._lock:
            targets = [(s, e) for e in events for s in self._subscribers.get(e.topic, ())]
        for subscription, event in targets:
            try:
                subscription.loop.call_soon_threadsafe(subscription.deliver, event)
            except RuntimeError:  # its loop has closed: the stream is gone
                subscription.close()

    def _resync_all(self) -> None:
        with self._lock:
            every = {s for listeners in self._subscribers.values() for s in listeners}
        self._fan_out_to(every)

    def _fan_out_to(self, subscriptions: Iterable[Subscription]) -> None:
        for subscription in subscriptions:
            event = Event(subscription.topics[0], RESYNC)
            try:
                subscription.loop.call_soon_threadsafe(subscription.deliver, event)
            except RuntimeError:
                subscription.close()

    def close(self) -> None:
        """Stops the bus's own machinery (none here)."""


class ChannelBus(MemoryBus):
    """Events through the database's channel between processes (`db.notify`), so that
    every process hears every event."""

    def __init__(self, channel: channels.Channel) -> None:
        super().__init__()
        self._channel = channel
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()

    def publish(self, events: Sequence[Event]) -> None:
        payloads = []
        for event in events:
            payload = event.encode()
            if len(payload.encode()) > MAX_PAYLOAD:
                log.warning("live event too large for the channel, sent as resync: %s", event.topic)
                payload = Event(event.topic, RESYNC).encode()
            payloads.append(payload)
        self._channel.send(payloads)

    async def subscribe(self, topics: Sequence[str]) -> Subscription:
        self.start()
        if not self._ready.is_set():
            # Events published before LISTEN would be missed: wait for it (off the loop).
            await asyncio.to_thread(self._ready.wait, READY_TIMEOUT)
        return await super().subscribe(topics)

    def start(self) -> None:
        """Opens the process's listening connection (once)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._listen, name="clientcard-live-listen", daemon=True
                )
                self._thread.start()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> bool:
        return self._ready.wait(timeout)

    def _listen(self) -> None:
        backoff, connected_before = 0.2, False
        while not self._stop.is_set():
            try:
                with self._channel.listening() as listener:
                    self._ready.set()
                    if connected_before:
                        log.info("live: listening connection reopened")
                        self._resync_all()
                    connected_before, backoff = True, 0.2
                    while not self._stop.is_set():
                        for payload in listener.payloads(timeout=0.5):
                            self._received(payload)
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("live: listening connection lost (%s); retrying in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        self._ready.clear()

    def _received(self, payload: str) -> None:
        try:
            event = Event.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("live: a channel payload that is not an event: %.100s", payload)
            return
        self._fan_out([event])

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None


_buses: weakref.WeakKeyDictionary[Database, MemoryBus] = weakref.WeakKeyDictionary()
_buses_lock = threading.Lock()


def bus_for(database: Database) -> MemoryBus:
    """The bus of a database: in memory when one process serves it, else through its
    channel between processes."""
    with _buses_lock:
        bus = _buses.get(database)
        if bus is None:
            channel = channels.channel(database, CHANNEL)
            bus = MemoryBus() if channel is None else ChannelBus(channel)
            _buses[database] = bus
        return bus


def publish(session: Session, events: Iterable[Event]) -> None:
    """Queues events to be sent once the session's unit of work commits (never on
    rollback). Every call within one unit of work goes out in one publish."""
    events = list(events)
    if not events:
        return
    pending: list[Event] | None = session.info.get(_PENDING)
    if pending is None:
        database = database_of(session)
        if database is None:
            log.debug("live events dropped: the session belongs to no unit of work")
            return
        pending = []
        session.info[_PENDING] = pending
        after_commit(session, lambda: _send(database, session, pending))
    pending.extend(events)


def _send(database: Database, session: Session, pending: list[Event]) -> None:
    session.info.pop(_PENDING, None)
    bus_for(database).publish(pending)
