"""Checkpoints that ``--resume`` continues from exactly: weights, optimizer, schedule, curriculum, step.

Every source of randomness in a training step is derived from ``(seed, step)`` (task draws and sampling), so a
resumed run draws what the uninterrupted run would have drawn; with the weights and the optimizer moments
restored bit for bit, it reproduces the same numbers on the same hardware.

Layout of ``OUT/checkpoints/step_000010/``: ``policy/`` (``save_pretrained``: the full model, or the LoRA adapter
plus ``base/`` for a locally built base), ``trainer.pt`` (optimizer and scheduler state), ``state.json``
(step, curriculum, config). ``OUT/checkpoints/latest`` names the newest.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from envtune_gym.agents.policy import Policy

LATEST = "latest"


def checkpoint_dir(out: str | Path, step: int) -> Path:
    return Path(out) / "checkpoints" / f"step_{step:06d}"


def save_checkpoint(
    out: str | Path,
    step: int,
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write the checkpoint of the run after ``step`` optimizer steps and point ``latest`` at it."""
    directory = checkpoint_dir(out, step)
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    policy.save(staging / "policy")
    if policy.lora and policy.base_directory is not None:
        (staging / "policy" / "BASE").write_text(str(policy.base_directory), encoding="utf-8")
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, staging / "trainer.pt"
    )
    (staging / "state.json").write_text(json.dumps({**state, "step": step}, indent=1), encoding="utf-8")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)  # a crash mid-save leaves the previous checkpoint intact
    (Path(out) / "checkpoints" / LATEST).write_text(directory.name, encoding="utf-8")
    _prune(Path(out) / "checkpoints", keep)
    return directory


def latest_checkpoint(out: str | Path) -> Path | None:
    """The newest complete checkpoint under ``out``, or ``None``."""
    pointer = Path(out) / "checkpoints" / LATEST
    if not pointer.is_file():
        return None
    directory = pointer.parent / pointer.read_text(encoding="utf-8").strip()
    return directory if (directory / "state.json").is_file() else None


def read_state(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "state.json").read_text(encoding="utf-8"))


def load_trainer_state(
    directory: Path, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler
) -> None:
    """Restore the optimizer moments and the schedule saved beside the weights."""
    saved = torch.load(directory / "trainer.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])


def _prune(root: Path, keep: int) -> None:
    steps = sorted(
        path for path in root.glob("step_*") if path.is_dir() and not path.name.endswith(".partial")
    )
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
