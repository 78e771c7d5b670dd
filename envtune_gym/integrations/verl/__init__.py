"""verl integration: EnvTune episodes as a verl agent loop, for multi-GPU GRPO with vLLM or SGLang rollouts.

Three pieces (``pip install "envtune-gym[verl]"``, verl 0.9):

- :class:`~envtune_gym.integrations.verl.agent_loop.EnvTuneAgentLoop`, a verl ``AgentLoopBase`` registered as
  ``"envtune_env"``: one whole multi-turn episode per dataset row over verl's async servers, returned as prompt
  and response token ids, the response mask (0 on env tokens), the sampling log-probs and the env's reward.
- :func:`export_parquet` / :func:`task_rows`: the parquet rows verl's dataset reads (one per task, routed to the
  loop by ``agent_name``, the env and task in ``extra_info``).
- :func:`write_agent_loop_config`: the YAML file for ``actor_rollout_ref.rollout.agent.agent_loop_config_path``,
  which makes every Ray worker import the loop and carries the env options (wrappers, tool docs...).

The data helpers need only pyarrow; the agent loop module imports verl. ``envtune verl-data`` writes both files.

Example:
    >>> import tempfile
    >>> from envtune_gym.integrations.verl import export_parquet, write_agent_loop_config
    >>> folder = tempfile.mkdtemp()
    >>> train = export_parquet(f"{folder}/train.parquet", "EnvTune/BFCL-v0", env_kwargs={"split": "train"})  # doctest: +SKIP
    >>> config = write_agent_loop_config(f"{folder}/agent_loop.yaml", max_new_tokens=1024)
    >>> config.name
    'agent_loop.yaml'
"""

from envtune_gym.integrations.verl.data import (
    AGENT_NAME,
    DEFAULT_WRAPPERS,
    EpisodeRequest,
    agent_loop_config,
    export_parquet,
    resolve_wrappers,
    task_rows,
    write_agent_loop_config,
)

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
