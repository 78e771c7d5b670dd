"""Checks the ``envtune`` commands share, so that bad input is a one-line error before any work starts.

Example:
    >>> check_env("EnvTune/FileSystem-v0", {"split": "train"})
    >>> check_env("EnvTune/NoSuch-v0")
    Traceback (most recent call last):
    ...
    ValueError: unknown env id 'EnvTune/NoSuch-v0' (see envtune list)
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from envtune_gym.envs.tool_env import ToolUseEnv

#: ``gym.make`` keywords that gymnasium consumes itself instead of passing them to the env's constructor.
_MAKE_KEYWORDS = frozenset(
    {"max_episode_steps", "autoreset", "apply_api_compatibility", "disable_env_checker"}
)


def check_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> None:
    """Raise ``ValueError`` unless ``env_id`` is a registered EnvTune env that accepts ``env_kwargs``' names.

    Only the names are checked (cheaply, from the constructor's signature): a bad value is reported by the env
    itself when it is made.
    """
    try:
        spec = gym.spec(env_id)
    except gym.error.Error:
        raise ValueError(f"unknown env id {env_id!r} (see envtune list)") from None
    entry_point = spec.entry_point
    env_class = load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point
    if not (inspect.isclass(env_class) and issubclass(env_class, ToolUseEnv)):
        raise ValueError(f"{env_id!r} is not an EnvTune env: these commands need one (see envtune list)")
    accepted = set(inspect.signature(env_class).parameters) | _MAKE_KEYWORDS
    unknown = sorted(set(env_kwargs or {}) - accepted)
    if unknown:
        raise ValueError(
            f"{env_id} takes no argument(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(sorted(accepted - set(spec.kwargs) - _MAKE_KEYWORDS))}"
        )


def seed_type(text: str) -> int:
    """An ``argparse`` type: a seed is an integer >= 0 (Gymnasium rejects negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value
