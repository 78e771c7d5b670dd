"""The tiny preset learns on a CPU: GRPO raises the mean reward, with a fixed seed, within minutes."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from envtune_gym.agents.config import GRPOConfig  # noqa: E402
from envtune_gym.agents.grpo import train  # noqa: E402
from envtune_gym.agents.metrics import summarize  # noqa: E402

#: The bound for this test: 5 minutes of a 2-core CPU. It is checked as the process's CPU time (all threads)
#: against 2 cores x 300 s, so that other load on a shared machine cannot fail it; alone, the run takes about
#: 3 minutes of wall time here.
CPU_SECONDS_LIMIT = 2 * 300


def test_tiny_preset_improves_reward_on_cpu():
    config = GRPOConfig.from_preset("tiny", progress=False, tensorboard=False, seed=0)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = train(config)
    elapsed, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    reward = summarize(result.rows, "reward_mean")
    print(
        f"tiny preset: {len(result.rows)} steps, {elapsed:.0f} s wall, {cpu_seconds:.0f} s CPU, reward {reward}"
    )
    assert len(result.rows) == config.total_steps
    # The warm start leaves room to learn: GRPO starts from a partly competent policy, not a solved one.
    assert reward["first_quarter"] < 0.6
    assert reward["improvement"] >= 0.1, reward
    assert cpu_seconds <= CPU_SECONDS_LIMIT
