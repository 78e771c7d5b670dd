"""benchmarks/gpu_check.py rehearsed on a CPU with a small shape: the GPU run's code path cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip(
    "bfcl_eval", reason="the check trains on BFCL-v0 (pip install --no-deps bfcl-eval==2026.3.23)"
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bfcl
def test_gpu_check_runs_two_preset_steps_on_a_small_shape(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--small", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    rows = [json.loads(line) for line in lines if line.startswith("{")]
    assert [row["step"] for row in rows] == [1, 2]
    for row in rows:
        assert row["model_tokens"] > 0 and row["train_tokens"] > 0 and row["rollout_computed_tokens"] > 0
    assert lines[-1].startswith("gpu check on cpu: 2 steps of 1x2 episodes")
    # The preset's settings came through: LoRA adapters and the BFCL train split.
    saved = json.loads((tmp_path / "run" / "checkpoints" / "step_000002" / "state.json").read_text())
    assert saved["config"]["lora"] and saved["config"]["env_kwargs"] == {"split": "train"}
    assert saved["config"]["gradient_checkpointing"] and saved["config"]["kl_coef"] == 0.1
