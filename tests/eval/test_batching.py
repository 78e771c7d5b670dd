"""The batcher that lets the eval's worker threads share generation calls."""

from __future__ import annotations

import threading
import time

import pytest

from envtune_gym.eval.batching import BatchedGenerator


def _in_threads(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a caller never got its result"
    return results


def test_concurrent_requests_run_as_one_batch_and_each_caller_gets_its_own_output() -> None:
    seen: list[list[list[int]]] = []

    def batch_fn(contexts, limits):
        seen.append(contexts)
        return [[*context, limit] for context, limit in zip(contexts, limits, strict=True)]

    batcher = BatchedGenerator(batch_fn, max_batch=8, wait_s=5.0)  # fills up long before the wait ends
    results = _in_threads(8, lambda index: batcher.generate([index, index], index + 1))
    assert results == [[index, index, index + 1] for index in range(8)]
    assert (batcher.batches, batcher.rows) == (1, 8) and len(seen[0]) == 8


def test_batches_never_exceed_max_batch_and_everyone_is_served() -> None:
    sizes: list[int] = []

    def batch_fn(contexts, limits):
        sizes.append(len(contexts))
        time.sleep(0.01)
        return [context[0] for context in contexts]

    batcher = BatchedGenerator(batch_fn, max_batch=3, wait_s=0.05)
    results = _in_threads(10, lambda index: [batcher.generate([index * 10 + step], 1) for step in range(3)])
    assert results == [[index * 10 + step for step in range(3)] for index in range(10)]
    assert max(sizes) <= 3 and sum(sizes) == 30 == batcher.rows


def test_a_lone_request_is_served_without_a_full_batch() -> None:
    sizes: list[int] = []

    def batch_fn(contexts, limits):
        sizes.append(len(contexts))
        return [len(c) for c in contexts]

    batcher = BatchedGenerator(batch_fn, max_batch=16, wait_s=0.02)
    assert batcher.generate([1, 2, 3], 5) == 3
    assert sizes == [1]  # it went alone once the wait was over, not after 15 more requests


def test_an_error_reaches_every_caller_of_the_batch_and_the_batcher_recovers() -> None:
    calls = {"count": 0}

    def batch_fn(contexts, limits):
        calls["count"] += 1
        if calls["count"] == 1:
            raise RuntimeError("CUDA out of memory (simulated)")
        return [0] * len(contexts)

    batcher = BatchedGenerator(batch_fn, max_batch=4, wait_s=5.0)
    results = _in_threads(4, lambda index: batcher.generate([index], 1))
    assert all(isinstance(result, RuntimeError) and "out of memory" in str(result) for result in results)
    assert _in_threads(2, lambda index: batcher.generate([index], 1)) == [0, 0]  # not stuck "running"


def test_a_batch_fn_returning_the_wrong_count_is_an_error() -> None:
    batcher = BatchedGenerator(lambda contexts, limits: [], max_batch=1)
    with pytest.raises(RuntimeError, match="0 outputs for 1 contexts"):
        batcher.generate([1], 1)
    with pytest.raises(ValueError, match="max_batch >= 1"):
        BatchedGenerator(lambda contexts, limits: [], max_batch=0)
