"""Generation batched across the eval's worker threads: concurrent messages of different episodes run together.

Each worker plays its own episode and asks for one message at a time. Generating them one by one leaves a GPU
mostly idle (a decode step costs about the same for 1 row as for 32), so the ``hf`` policy's workers share a
:class:`BatchedGenerator`: a request waits briefly for the other workers' requests, then one of the waiting
threads runs them as one batch and hands each worker its own continuation. Env steps take well under a
millisecond, so the workers are back with their next request long before the batch's generation ends.

Example:
    >>> from envtune_gym.eval.batching import BatchedGenerator
    >>> echo = BatchedGenerator(lambda contexts, limits: [c[::-1][:n] for c, n in zip(contexts, limits)])
    >>> echo.generate([1, 2, 3], 2), echo.batches
    ([3, 2], 1)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

Output = TypeVar("Output")
#: Generates continuations for several contexts at once: ``(contexts, token limits) -> one output per context``.
BatchFn = Callable[[list[list[int]], list[int]], Sequence[Any]]


class _Request:
    __slots__ = ("context", "limit", "output", "error", "done")

    def __init__(self, context: list[int], limit: int) -> None:
        self.context, self.limit = context, limit
        self.output: Any = None
        self.error: BaseException | None = None
        self.done = False


class BatchedGenerator(Generic[Output]):
    """Runs concurrent :meth:`generate` calls from several threads as batches of at most ``max_batch``.

    The first caller that finds no batch running leads: it waits up to ``wait_s`` for ``max_batch`` requests,
    runs what has arrived through ``batch_fn`` (outside the lock, so other workers keep stepping their envs),
    hands out the outputs and gives up the lead; requests that arrived meanwhile form the next batch. An
    exception from ``batch_fn`` is raised in every thread of that batch.

    Args:
        batch_fn: generates for a batch: ``(contexts, limits) -> outputs``, in order.
        max_batch: the most rows per batch (the eval sets it to its number of workers).
        wait_s: how long a batch waits to fill up (a few milliseconds: the time of an env step or two).
    """

    def __init__(self, batch_fn: BatchFn, max_batch: int = 32, wait_s: float = 0.005) -> None:
        if max_batch < 1 or wait_s < 0:
            raise ValueError(f"need max_batch >= 1 and wait_s >= 0, got {max_batch} and {wait_s}")
        self.batch_fn = batch_fn
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._lock = threading.Condition()
        self._pending: list[_Request] = []
        self._running = False
        #: Batches run and rows generated, for reports and tests.
        self.batches = 0
        self.rows = 0

    def generate(self, context: Sequence[int], limit: int) -> Output:
        """The continuation of ``context`` (at most ``limit`` tokens), generated in a batch with other callers'."""
        request = _Request(list(context), limit)
        with self._lock:
            self._pending.append(request)
            self._lock.notify_all()
            while not request.done:
                if self._running:
                    self._lock.wait()
                else:
                    self._lead()
        if request.error is not None:
            raise request.error
        return request.output

    def _lead(self) -> None:
        """Gather a batch, run it without the lock, hand out the results (called and returns with the lock)."""
        self._running = True
        deadline = time.monotonic() + self.wait_s
        while len(self._pending) < self.max_batch and (left := deadline - time.monotonic()) > 0:
            self._lock.wait(left)
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        self._lock.release()
        try:
            outputs, error = self._run(batch)
        finally:
            self._lock.acquire()
        for index, request in enumerate(batch):
            request.output = None if error is not None else outputs[index]
            request.error, request.done = error, True
        self.batches += 1
        self.rows += len(batch)
        self._running = False
        self._lock.notify_all()

    def _run(self, batch: list[_Request]) -> tuple[Sequence[Any], BaseException | None]:
        try:
            outputs = self.batch_fn(
                [request.context for request in batch], [request.limit for request in batch]
            )
        except BaseException as exc:  # handed to every caller of the batch, each raises it
            return (), exc
        if len(outputs) != len(batch):
            return (), RuntimeError(f"batch_fn returned {len(outputs)} outputs for {len(batch)} contexts")
        return outputs, None
