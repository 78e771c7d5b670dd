"""Doctest collection over the package: modules that import an optional extra at import time.

The agent's modules need the ``train`` extra (torch, transformers), the verl agent loop needs verl, the verl
data helpers' examples write parquet with pyarrow, and the MCP server needs the ``serve`` extra. Without them those modules are left out of collection instead
of failing on import, so the env suite still runs on a core install.
"""

import importlib.util
import os

# Before any test imports torch: OpenMP threads that sleep while they wait, as ``envtune_gym.agents`` sets for
# users, so the suite does not fight itself (or another job) for the two cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

collect_ignore_glob: list[str] = []
if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    collect_ignore_glob += [
        f"envtune_gym/agents/{name}.py"
        for name in ("grpo", "losses", "policy", "rollout", "sampling", "sft", "checkpoint", "engine", "memory")
    ]
if importlib.util.find_spec("verl") is None or "envtune_gym/agents/rollout.py" in collect_ignore_glob:
    collect_ignore_glob.append("envtune_gym/integrations/verl/agent_loop.py")
if importlib.util.find_spec("pyarrow") is None:
    collect_ignore_glob.append("envtune_gym/integrations/verl/data.py")
if any(importlib.util.find_spec(name) is None for name in ("mcp", "starlette", "uvicorn")):
    # `envtune serve`'s MCP modules need the serve extra; its episode table and command do not.
    collect_ignore_glob += [f"envtune_gym/serve/{name}.py" for name in ("client", "http", "mcp_server", "stdio")]
