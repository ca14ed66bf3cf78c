"""Concurrent callers' lookups run as one statement: group commit, for reads.

On PostgreSQL the dashboard's poll is one statement per request, and its
round trip, not the database's work, was a third of a web process: a send
on a loopback socket costs the sender the receiver's network stack too, and
pg8000 handles each answer in Python. Under load many polls reach that
statement in the same turn of the event loop. Here the first of them runs
its lookup at once, alone; those that arrive while it is out queue, and the
next batch (all of them, up to ``most``) goes as one statement when it is
back. One request alone waits for nobody; under load the batches grow by
themselves, exactly as the round trips would have queued.

Each lookup still runs after its caller arrived, so it sees what a lookup of
its own would have seen (a token revoked a moment before is refused). The
batch is led by one of its own callers, never by one that already has its
answer, so nobody works for later arrivals. Built on ``threading``, so it
serves OS threads and, once gevent has patched ``threading``, greenlets.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class BatchFailed(Exception):
    """The batch a lookup was part of failed; ``__cause__`` says why."""


class _Waiter(Generic[Item, Answer]):
    __slots__ = ("item", "answer", "error", "done", "leads")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.answer: Answer | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.leads = False  # set with ``done`` when this waiter is to run the next batch


class Batches(Generic[Item, Answer]):
    """``one(item)`` is ``run([item])[0]``, with concurrent callers' items run together."""

    def __init__(self, run: Callable[[Sequence[Item]], Sequence[Answer]], most: int) -> None:
        if most < 1:
            raise ValueError("a batch holds at least one item")
        self._run = run
        self._most = most
        self._lock = threading.Lock()
        self._queue: list[_Waiter[Item, Answer]] = []
        self._busy = False  # a batch is out; invariant: queued waiters imply busy

    def one(self, item: Item) -> Answer:
        """The answer for ``item``.

        :raise BatchFailed: if its batch, led by another caller, failed.
        :raise: what ``run`` raised, to the caller that led the batch.
        """
        waiter: _Waiter[Item, Answer] = _Waiter(item)
        with self._lock:
            self._queue.append(waiter)
            leads = not self._busy
            self._busy = True
        if not leads:
            try:
                waiter.done.wait()
            except BaseException:  # its greenlet was killed while it queued
                self._abandon(waiter)
                raise
            leads = waiter.leads
        if leads:
            self._lead(waiter)
        if waiter.error is not None:
            raise waiter.error
        return waiter.answer  # type: ignore[return-value]

    def _lead(self, leader: _Waiter[Item, Answer]) -> None:
        """Run the oldest queued items (the leader's among them) and hand the next batch on."""
        with self._lock:
            batch = self._queue[:self._most]
            del self._queue[:self._most]
        try:
            answers = self._run([waiter.item for waiter in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers for {len(batch)} items")
            for waiter, answer in zip(batch, answers):
                waiter.answer = answer
        except BaseException as error:  # a gevent Timeout is the leader's; its batch fails with it
            for waiter in batch:
                if waiter is leader:
                    waiter.error = error
                else:
                    failed = BatchFailed("the batch this lookup was in failed")
                    failed.__cause__ = error
                    waiter.error = failed
        finally:
            self._hand_on()
            for waiter in batch:
                if waiter is not leader:
                    waiter.done.set()

    def _hand_on(self) -> None:
        """Let the oldest queued waiter lead the next batch, or mark nothing out."""
        with self._lock:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._busy = False
            else:
                following.leads = True
        if following is not None:
            following.done.set()

    def _abandon(self, waiter: _Waiter[Item, Answer]) -> None:
        """``waiter`` leaves the queue; if it was to lead, the next one leads instead."""
        with self._lock:
            led = waiter.leads
            if waiter in self._queue:  # else already in a batch that is out: its answer goes unread
                self._queue.remove(waiter)
        if led:
            self._hand_on()
