"""Keyed reads that arrive together, answered by one read of all their keys.

The screen pop on PostgreSQL is one statement per look-up, and under load most of what a
look-up costs the server process beyond its own rows is the trip to the database: a pool
checkout, a statement sent, a socket woken up again for the answer. Look-ups that are in
flight at the same moment can share that trip. A `Coalescer` collects the keys asked for
during one turn of the event loop and reads them with one statement at the next turn, so a
look-up that arrives alone waits for no one (there is no timer) and look-ups that arrive
together cost one round trip between them.

At most `concurrency` reads run at once per event loop (the size of the connection pool
they use): while all of them are out, the keys asked for wait in one open batch that is
sent when a read comes back, so a busy server sends fewer, larger reads instead of
queueing single ones for a connection.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _LoopState(Generic[K, V]):
    open: dict[K, list[asyncio.Future[V]]] | None = None  # the batch new keys join
    sending: bool = False  # a read of the open batch is scheduled
    in_flight: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # held against collection


class Coalescer(Generic[K, V]):
    """`get(key)` answered by `read(keys)` for all the keys asked for together.

    `read` returns a mapping from a key to its value; a key it leaves out gets a new
    `missing()`. Waiters for the same key share its value: callers must not change it. An
    error of a read is raised to every waiter of its batch."""

    def __init__(
        self,
        read: Callable[[list[K]], Awaitable[Mapping[K, V]]],
        *,
        missing: Callable[[], V],
        concurrency: int,
    ) -> None:
        self._read = read
        self._missing = missing
        self._concurrency = max(1, concurrency)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[K, V]] = (
            weakref.WeakKeyDictionary()
        )
        self.reads = 0  # reads sent, for tests and diagnostics
        self.keys_read = 0

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopState()
        if state.open is None:
            state.open = {}
        future: asyncio.Future[V] = loop.create_future()
        state.open.setdefault(key, []).append(future)
        if not state.sending and state.in_flight < self._concurrency:
            self._schedule(loop, state)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop, state: _LoopState[K, V]) -> None:
        # A task's first step runs at the loop's next turn, after the steps of every task
        # already due in this one: the look-ups that arrived with this key join its batch.
        state.sending = True
        task = loop.create_task(self._send(loop, state))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    async def _send(self, loop: asyncio.AbstractEventLoop, state: _LoopState[K, V]) -> None:
        batch, state.open, state.sending = state.open or {}, None, False
        state.in_flight += 1
        self.reads += 1
        self.keys_read += len(batch)
        try:
            found = await self._read(list(batch))
        except Exception as exc:
            for future in _waiting(batch):
                future.set_exception(exc)
        except BaseException:  # cancelled (the loop is closing): so are its waiters
            for future in _waiting(batch):
                future.cancel()
            raise
        else:
            for key, futures in batch.items():
                value = found[key] if key in found else self._missing()
                for future in futures:
                    if not future.done():  # not a waiter that went away
                        future.set_result(value)
        finally:
            state.in_flight -= 1
            if state.open and not state.sending:
                self._schedule(loop, state)


def _waiting(batch: Mapping[K, list[asyncio.Future[V]]]) -> list[asyncio.Future[V]]:
    return [f for futures in batch.values() for f in futures if not f.done()]
