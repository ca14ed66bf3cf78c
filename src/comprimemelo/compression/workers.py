"""A fixed set of threads running calls in the background: what the block writers need
of ``concurrent.futures.ThreadPoolExecutor``, without its start-up.

``concurrent.futures`` imports ``logging`` (and with it ``traceback``, ``string``
and more): a sixth of ``comprimemelo compress``'s start-up on an empty file.
The writers only submit calls, wait for each result in order, cancel what is
queued and shut down, so that is all this offers.
"""

from __future__ import annotations

import _thread
import queue
import threading
from collections.abc import Callable


class Job:
    """A submitted call: ``result()`` waits for it and returns its value or raises its error."""

    __slots__ = ("_call", "_args", "_finished", "_value", "_error", "_cancelled", "_skipped")

    def __init__(self, call: Callable, args: tuple) -> None:
        self._call, self._args = call, args
        self._finished = _thread.allocate_lock()
        self._finished.acquire()  # released once the call has run (or was skipped)
        self._value = self._error = None
        self._cancelled = self._skipped = False

    def _run(self) -> None:
        try:
            if self._cancelled:
                self._skipped = True
            else:
                self._value = self._call(*self._args)
        except BaseException as error:  # handed to whoever waits for the result
            self._error = error
        finally:
            self._call = self._args = None
            self._finished.release()

    def cancel(self) -> None:
        """Skip the call if it has not started (a running call finishes)."""
        self._cancelled = True

    def result(self):
        with self._finished:
            pass
        if self._error is not None:
            raise self._error
        if self._skipped:
            raise RuntimeError("the job was cancelled")
        return self._value


class Workers:
    """``threads`` daemon threads taking jobs in submission order; started on the first submit."""

    def __init__(self, threads: int, name: str) -> None:
        self._size = max(1, threads)
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._shut = False

    def submit(self, call: Callable, *args) -> Job:
        if self._shut:
            raise RuntimeError("submit after shutdown")
        job = Job(call, args)
        self._jobs.put(job)
        if len(self._threads) < self._size:
            thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return job

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job._run()

    def shutdown(self) -> None:
        """Let every queued job run (or skip, if cancelled), then stop the threads."""
        if self._shut:
            return
        self._shut = True
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
