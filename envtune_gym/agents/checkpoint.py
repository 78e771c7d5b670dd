"""Checkpoints that ``--resume`` continues from exactly: weights, optimizer, schedule, curriculum, step.

Every source of randomness in a training step is derived from ``(seed, step)`` (task draws and sampling), so a
resumed run draws what the uninterrupted run would have drawn; with the weights and the optimizer moments
restored bit for bit, it reproduces the same numbers on the same hardware.

Layout of ``OUT/checkpoints/step_000010/``: ``policy/`` (``save_pretrained``: the full model in fp32 master
weights, or the LoRA adapter plus a ``BASE`` file naming a locally saved base, ``OUT/base/``), ``trainer.pt``
(optimizer and scheduler state), ``state.json`` (step, curriculum, config). ``OUT/checkpoints/latest`` names the
newest. ``OUT/reference/`` holds the KL reference of a full fine-tuning run, written once as GRPO starts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from envtune_gym.agents.policy import Policy

LATEST = "latest"
REFERENCE = "reference"


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


def save_reference(out: str | Path, model: torch.nn.Module) -> Path:
    """Write the frozen KL reference's weights to ``OUT/reference/`` (aside first, then moved into place)."""
    from safetensors.torch import save_model

    directory = Path(out) / REFERENCE
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_model(model, str(staging / "model.safetensors"))
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return directory


def load_reference(out: str | Path, model: torch.nn.Module) -> None:
    """Load the weights :func:`save_reference` wrote into ``model`` (a module of the same shape and dtype)."""
    from safetensors.torch import load_model

    path = Path(out) / REFERENCE / "model.safetensors"
    if not path.is_file():
        raise ValueError(
            f"resuming with kl_coef > 0 needs the KL reference saved when the run started, {str(path)!r}, and "
            "it is missing (was the run started with kl_coef=0, with LoRA, or by an older version?); "
            "resume with --kl-coef 0 or start the run again"
        )
    load_model(model, str(path), strict=True, device=str(next(model.parameters()).device))


def _prune(root: Path, keep: int) -> None:
    steps = sorted(
        path for path in root.glob("step_*") if path.is_dir() and not path.name.endswith(".partial")
    )
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
