"""Keyed reads that arrive together share one read (`clientcard.db.coalesce`)."""

from __future__ import annotations

import asyncio

import pytest

from clientcard.db.coalesce import Coalescer


class Reads:
    """A read that records the keys of every call, answers `value:<key>` for known keys,
    and can be held until released."""

    def __init__(self, known: set[str] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.known = known
        self.release: asyncio.Event | None = None
        self.error: Exception | None = None

    async def __call__(self, keys: list[str]) -> dict[str, list[str]]:
        self.calls.append(keys)
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        return {k: [f"value:{k}"] for k in keys if self.known is None or k in self.known}


def test_keys_asked_together_go_in_one_read_and_each_gets_its_own_value():
    reads = Reads(known={"a", "b", "c"})
    coalescer = Coalescer(reads, missing=list, concurrency=4)

    async def scenario():
        return await asyncio.gather(*(coalescer.get(k) for k in ["a", "b", "c", "b", "x"]))

    found = asyncio.run(scenario())
    assert reads.calls == [["a", "b", "c", "x"]]  # "b" is read once for both waiters
    assert found == [["value:a"], ["value:b"], ["value:c"], ["value:b"], []]
    assert (coalescer.reads, coalescer.keys_read) == (1, 4)


def test_keys_no_read_answers_get_a_new_empty_value_each():
    coalescer = Coalescer(Reads(known=set()), missing=list, concurrency=4)

    async def scenario():
        return await asyncio.gather(coalescer.get("x"), coalescer.get("y"))

    first, second = asyncio.run(scenario())
    assert first == second == []
    assert first is not second


def test_a_key_asked_alone_is_read_alone_and_at_once():
    """No timer: one look-up after another is one read after another."""
    reads = Reads()
    coalescer = Coalescer(reads, missing=list, concurrency=4)

    async def scenario():
        return [await asyncio.wait_for(coalescer.get(k), timeout=5) for k in ["a", "b", "c"]]

    assert asyncio.run(scenario()) == [["value:a"], ["value:b"], ["value:c"]]
    assert reads.calls == [["a"], ["b"], ["c"]]


def test_while_every_read_is_out_new_keys_wait_in_one_batch():
    reads = Reads()
    coalescer = Coalescer(reads, missing=list, concurrency=1)

    async def scenario():
        reads.release = asyncio.Event()
        first = asyncio.ensure_future(coalescer.get("a"))
        await asyncio.sleep(0.01)  # the read of "a" is out and held
        later = [asyncio.ensure_future(coalescer.get(k)) for k in ["b", "c"]]
        await asyncio.sleep(0.01)
        later.append(asyncio.ensure_future(coalescer.get("d")))
        await asyncio.sleep(0.01)
        assert reads.calls == [["a"]]  # nothing more is sent while the one read is out
        reads.release.set()
        return await asyncio.gather(first, *later)

    found = asyncio.run(scenario())
    assert reads.calls == [["a"], ["b", "c", "d"]]
    assert found == [["value:a"], ["value:b"], ["value:c"], ["value:d"]]


def test_a_failed_read_fails_every_waiter_of_its_batch_and_the_next_read_runs():
    reads = Reads()
    coalescer = Coalescer(reads, missing=list, concurrency=2)

    async def scenario():
        reads.error = RuntimeError("database gone")
        failed = await asyncio.gather(
            coalescer.get("a"), coalescer.get("b"), return_exceptions=True
        )
        reads.error = None
        return failed, await coalescer.get("c")

    failed, after = asyncio.run(scenario())
    assert [str(e) for e in failed] == ["database gone", "database gone"]
    assert after == ["value:c"]
    assert reads.calls == [["a", "b"], ["c"]]


def test_a_waiter_that_goes_away_leaves_the_others_their_answer():
    reads = Reads()
    coalescer = Coalescer(reads, missing=list, concurrency=2)

    async def scenario():
        reads.release = asyncio.Event()
        leaving = asyncio.ensure_future(coalescer.get("a"))
        staying = asyncio.ensure_future(coalescer.get("a"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        reads.release.set()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying

    assert asyncio.run(scenario()) == ["value:a"]


def test_each_event_loop_has_batches_of_its_own():
    """The app may serve on several loops (a test client's, a worker's): a batch never
    holds futures of another loop."""
    reads = Reads()
    coalescer = Coalescer(reads, missing=list, concurrency=2)
    assert asyncio.run(coalescer.get("a")) == ["value:a"]
    assert asyncio.run(coalescer.get("b")) == ["value:b"]
    assert reads.calls == [["a"], ["b"]]
