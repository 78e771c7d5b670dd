"""Doctest collection over the package: the agent's modules need the ``train`` extra (torch, transformers).

Without it they are left out of collection (with the reason in ``pytest -rs`` terms: not collected) instead of
failing on import, so the env suite still runs on a core install.
"""

import importlib.util

collect_ignore_glob: list[str] = []
if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    collect_ignore_glob += [
        f"envtune_gym/agents/{name}.py"
        for name in ("grpo", "losses", "policy", "rollout", "sampling", "sft", "checkpoint")
    ]
