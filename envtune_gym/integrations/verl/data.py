"""verl's inputs for EnvTune: the task rows (parquet) and the agent-loop config (YAML).

Neither needs verl: the rows are written with pyarrow (a dependency of verl and of ``datasets``), the YAML by hand,
so the files can be made on any machine and copied to the cluster.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from envtune_gym.envs.factory import WrapperFactory, env_tasks, select_tasks

__all__ = [
    "AGENT_NAME",
    "DEFAULT_WRAPPERS",
    "EpisodeRequest",
    "agent_loop_config",
    "export_parquet",
    "resolve_wrappers",
    "task_rows",
    "write_agent_loop_config",
]

#: The name the agent loop is registered under; rows route to it with ``agent_name``.
AGENT_NAME = "envtune_env"

#: The ``_target_`` verl instantiates for :data:`AGENT_NAME`.
AGENT_LOOP_TARGET = "envtune_gym.integrations.verl.agent_loop.EnvTuneAgentLoop"

#: Wrappers around each env unless the agent-loop config names others: the per-turn progress reward.
DEFAULT_WRAPPERS: tuple[str, ...] = ("ProgressReward",)


def task_rows(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    task_ids: Sequence[str] | None = None,
    max_turns: int | None = None,
    system_prompt: str | None = None,
    data_source: str | None = None,
    agent_name: str = AGENT_NAME,
) -> list[dict[str, Any]]:
    """One verl dataset row per task of ``env_id``.

    Each row has the columns verl's ``RLHFDataset`` and agent loop read: ``prompt`` (the first user message, after
    ``system_prompt`` if given: verl uses it for prompt-length filtering and logging; the agent loop renders the
    real prompt, tools included, from the env), ``data_source`` (validation metrics are grouped by it),
    ``agent_name`` (routes the row to the EnvTune agent loop) and ``extra_info``: ``index``, ``env_id``,
    ``task_id``, ``env_kwargs`` (a JSON string, so rows of different envs share one parquet schema) and
    ``system_prompt``.

    Args:
        env_id: an ``EnvTune/*`` id.
        env_kwargs: passed to ``gym.make`` when listing the tasks and again by the agent loop (e.g.
            ``{"split": "train"}`` for ``EnvTune/BFCL-v0``); must be JSON-serialisable.
        task_ids: only these tasks, in this order (repeat an id to weight it).
        max_turns: only tasks with at most this many user turns.
        system_prompt: a system message for every episode of these rows.
        data_source: the ``data_source`` value; default ``"envtune/<env name>"``.
        agent_name: the registered agent-loop name (:data:`AGENT_NAME` unless you registered a subclass).

    Raises:
        ValueError: for an unknown task id, env kwargs that are not JSON, or when no task is left.

    Example:
        >>> rows = task_rows("EnvTune/FileSystem-v0", task_ids=["filesystem_base_0"])
        >>> rows[0]["agent_name"], rows[0]["data_source"], rows[0]["extra_info"]["task_id"]
        ('envtune_env', 'envtune/FileSystem-v0', 'filesystem_base_0')
    """
    kwargs = dict(env_kwargs or {})
    try:
        kwargs_json = json.dumps(kwargs, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"env_kwargs must be JSON-serialisable for the parquet rows: {exc}") from None
    tasks = select_tasks(env_tasks(env_id, kwargs), task_ids, max_turns=max_turns)
    if not tasks:
        raise ValueError(f"no task of {env_id} with {kwargs} passes the filters (max_turns={max_turns})")
    source = data_source or f"envtune/{env_id.split('/')[-1]}"
    rows = []
    for index, task in enumerate(tasks):
        prompt = [{"role": "user", "content": task.turns[0]}]
        if system_prompt is not None:
            prompt.insert(0, {"role": "system", "content": system_prompt})
        extra_info = {"index": index, "env_id": env_id, "task_id": task.id, "env_kwargs": kwargs_json,
                      "system_prompt": system_prompt}  # fmt: skip
        rows.append(
            {"data_source": source, "agent_name": agent_name, "prompt": prompt, "extra_info": extra_info}
        )
    return rows


def export_parquet(path: str | Path, env_id: str, **row_options: Any) -> Path:
    """Write :func:`task_rows` to a parquet file for ``data.train_files`` / ``data.val_files``.

    Args:
        path: the file to write (parent folders are created).
        env_id: an ``EnvTune/*`` id.
        **row_options: as :func:`task_rows` (``env_kwargs``, ``task_ids``, ``system_prompt``...).

    Returns:
        The path written.

    Example:
        >>> import tempfile, pyarrow.parquet as pq
        >>> out = export_parquet(f"{tempfile.mkdtemp()}/train.parquet", "EnvTune/FileSystem-v0")
        >>> pq.read_table(out).num_rows
        53
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "export_parquet needs pyarrow: pip install pyarrow (verl and datasets depend on it)"
        ) from None
    rows = task_rows(env_id, **row_options)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), target)
    return target


def agent_loop_config(
    *,
    name: str = AGENT_NAME,
    wrappers: Sequence[str | Mapping[str, Any]] = DEFAULT_WRAPPERS,
    env_kwargs: Mapping[str, Any] | None = None,
    tool_docs: str = "full",
    system_prompt: str | None = None,
    max_new_tokens: int | None = None,
) -> list[dict[str, Any]]:
    """The entries of verl's ``actor_rollout_ref.rollout.agent.agent_loop_config_path`` file for the EnvTune loop.

    verl builds the agent loop with ``hydra.utils.instantiate(entry, ...)``, so every key besides ``name`` and
    ``_target_`` reaches the loop's constructor: these are the options that hold for every row.

    Args:
        name: the agent name rows route to.
        wrappers: wrapped around every env, in order: names in ``envtune_gym.wrappers`` (``"ProgressReward"``),
            dotted paths (``"mypkg.MyWrapper"``), or ``{"name": ..., "kwargs": {...}}``. They decide the reward.
        env_kwargs: ``gym.make`` keyword arguments for every env, under each row's own ``env_kwargs``.
        tool_docs: ``"full"`` or ``"compact"`` tool schemas in the prompt.
        system_prompt: a system message for rows that carry none.
        max_new_tokens: the cap of one model message (``None``: the rest of ``rollout.response_length``).

    Example:
        >>> agent_loop_config(max_new_tokens=512)[0]["_target_"]
        'envtune_gym.integrations.verl.agent_loop.EnvTuneAgentLoop'
    """
    resolve_wrappers(wrappers)  # fail here, not on the cluster
    entry: dict[str, Any] = {"name": name, "_target_": AGENT_LOOP_TARGET,
                             "wrappers": [w if isinstance(w, str) else dict(w) for w in wrappers],
                             "env_kwargs": dict(env_kwargs or {}), "tool_docs": tool_docs}  # fmt: skip
    if system_prompt is not None:
        entry["system_prompt"] = system_prompt
    if max_new_tokens is not None:
        entry["max_new_tokens"] = max_new_tokens
    return [entry]


def write_agent_loop_config(path: str | Path, **options: Any) -> Path:
    """Write :func:`agent_loop_config` as YAML (JSON is valid YAML, so no YAML library is needed).

    Example:
        >>> import tempfile
        >>> out = write_agent_loop_config(f"{tempfile.mkdtemp()}/agent_loop.yaml", tool_docs="compact")
        >>> json.loads(out.read_text())[0]["tool_docs"]
        'compact'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(agent_loop_config(**options), indent=2) + "\n")
    return target


def resolve_wrappers(specs: Sequence[str | Mapping[str, Any]]) -> list[WrapperFactory]:
    """Wrapper factories from config specs: a name in ``envtune_gym.wrappers``, a dotted path, or a mapping
    ``{"name": ..., "kwargs": {...}}``.

    Raises:
        ValueError: for a spec that names nothing importable, or a malformed mapping.

    Example:
        >>> [factory.func.__name__ for factory in resolve_wrappers(
        ...     ["ProgressReward", {"name": "HintAugmentation", "kwargs": {"level": "full"}}])]
        ['ProgressReward', 'HintAugmentation']
    """
    if isinstance(specs, (str, Mapping)):
        raise ValueError(f"wrappers must be a list of specs, got {specs!r}")
    return [_resolve_wrapper(spec) for spec in specs]


def _resolve_wrapper(spec: str | Mapping[str, Any]) -> WrapperFactory:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"name", "kwargs"}
        if "name" not in spec or unknown:
            raise ValueError(f"a wrapper mapping has 'name' and optional 'kwargs', got {dict(spec)!r}")
        return partial(_import_wrapper(str(spec["name"])), **dict(spec.get("kwargs") or {}))
    if isinstance(spec, str):
        return partial(_import_wrapper(spec))
    raise ValueError(f"a wrapper spec is a name or a mapping, got {spec!r}")


def _import_wrapper(name: str) -> Any:
    module_name, _, attribute = name.rpartition(".")
    try:
        module = importlib.import_module(module_name or "envtune_gym.wrappers")
        return getattr(module, attribute)
    except (ImportError, AttributeError):
        raise ValueError(f"unknown wrapper {name!r}: use a name in envtune_gym.wrappers (e.g. 'ProgressReward') "
                         "or an importable dotted path") from None  # fmt: skip


class EpisodeRequest:
    """What one dataset row asks for: the env, its kwargs, the task, a seed and a system prompt.

    Read from the row's ``extra_info`` (see :func:`~envtune_gym.integrations.verl.data.task_rows`).

    Example:
        >>> row = {"extra_info": {"env_id": "EnvTune/FileSystem-v0", "task_id": "filesystem_base_0",
        ...                       "env_kwargs": '{"max_steps_per_turn": 5}'}}
        >>> request = EpisodeRequest.from_row(row, default_env_kwargs={"max_steps_per_turn": 20})
        >>> request.task_id, request.env_kwargs
        ('filesystem_base_0', {'max_steps_per_turn': 5})
    """

    def __init__(self, env_id: str, task_id: str, env_kwargs: dict[str, Any], seed: int | None,
                 system_prompt: str | None) -> None:  # fmt: skip
        self.env_id = env_id
        self.task_id = task_id
        self.env_kwargs = env_kwargs
        self.seed = seed
        self.system_prompt = system_prompt

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], default_env_kwargs: Mapping[str, Any] | None = None
    ) -> EpisodeRequest:
        """Parse a row; ``ValueError`` naming the missing or malformed field otherwise."""
        extra = row.get("extra_info")
        if not isinstance(extra, Mapping):
            raise ValueError("the row has no extra_info mapping: make the dataset with "
                             "envtune_gym.integrations.verl.export_parquet (or `envtune verl-data`)")  # fmt: skip
        missing = [key for key in ("env_id", "task_id") if not extra.get(key)]
        if missing:
            raise ValueError(f"the row's extra_info lacks {missing}; got keys {sorted(extra)}")
        env_kwargs = dict(default_env_kwargs or {})
        env_kwargs.update(json_mapping(extra.get("env_kwargs"), "extra_info.env_kwargs"))
        seed = extra.get("seed")
        return cls(str(extra["env_id"]), str(extra["task_id"]), env_kwargs,
                   None if seed is None else int(seed), extra.get("system_prompt") or None)  # fmt: skip


def json_mapping(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a dict: a mapping as is, a JSON object string parsed, ``None`` or ``""`` as ``{}``.

    Example:
        >>> json_mapping('{"split": "train"}', "--env-kwargs")
        {'split': 'train'}
    """
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f"{where} must be a JSON object (string) or a mapping, got {str(value)[:200]!r}")
    return parsed
