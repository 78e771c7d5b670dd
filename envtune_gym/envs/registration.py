"""Registration of the ``EnvTune/*`` ids with Gymnasium (done by ``import envtune_gym``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

_ENTRY_POINT = "envtune_gym.envs.tool_env:ToolUseEnv"

#: Every registered id with its constructor defaults.
ENV_IDS: dict[str, dict[str, Any]] = {
    "EnvTune/FileSystem-v0": {"tasks": "filesystem"},
    "EnvTune/Messaging-v0": {"tasks": "messaging"},
    "EnvTune/Trading-v0": {"tasks": "trading"},
    "EnvTune/Travel-v0": {"tasks": "travel"},
    "EnvTune/BFCL-v0": {"tasks": "bfcl"},
}


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS`; safe to call more than once."""
    for env_id, kwargs in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=_ENTRY_POINT, kwargs=dict(kwargs))
