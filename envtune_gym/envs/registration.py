"""Registration of the ``EnvTune/*`` ids with Gymnasium (done by ``import envtune_gym``).

The ids come from the domain registry (:mod:`envtune_gym.domains.registry`): each domain that declares an env
gets its id, running its task set; ``EnvTune/BFCL-v0`` runs BFCL's tasks over every domain.

Example:
    >>> register_envs()
    >>> list(ENV_IDS)[0], ENV_IDS[BFCL_ENV_ID]
    ('EnvTune/FileSystem-v0', {'tasks': 'bfcl'})
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from envtune_gym.domains import registered_domains
from envtune_gym.tasks.sources import BFCL_SET

_ENTRY_POINT = "envtune_gym.envs.tool_env:ToolUseEnv"
#: The env that runs BFCL's own multi-turn tasks, whatever domains they involve.
BFCL_ENV_ID = "EnvTune/BFCL-v0"

#: Every registered id with its constructor defaults, in listing order (kept current by :func:`register_envs`).
ENV_IDS: dict[str, dict[str, Any]] = {}
#: The ids this module gave Gymnasium, so that an id whose domain was unregistered can be taken back.
_REGISTERED: set[str] = set()


def env_ids() -> dict[str, dict[str, Any]]:
    """The ids the domain registry defines now: each domain's env, then ``EnvTune/BFCL-v0``."""
    ids = {spec.env_id: {"tasks": spec.task_set} for spec in registered_domains() if spec.env_id}
    if BFCL_ENV_ID in ids:
        raise ValueError(f"{BFCL_ENV_ID} is reserved for BFCL's own tasks; give the domain another env id")
    return {**ids, BFCL_ENV_ID: {"tasks": BFCL_SET}}


def register_envs() -> None:
    """Bring Gymnasium's registry and :data:`ENV_IDS` in line with the domain registry; safe to call again.

    Call it after importing a module that registers a domain of your own, so that ``gym.make`` knows its id.
    """
    current = env_ids()
    ENV_IDS.clear()
    ENV_IDS.update(current)
    for env_id in sorted(_REGISTERED - set(current)):  # a domain unregistered since: its id goes too
        gym.registry.pop(env_id, None)
        _REGISTERED.discard(env_id)
    for env_id, kwargs in current.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=_ENTRY_POINT, kwargs=dict(kwargs))
            _REGISTERED.add(env_id)
