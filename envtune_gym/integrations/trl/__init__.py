"""TRL integration: GRPO on EnvTune envs with TRL's ``GRPOTrainer``, by ``rollout_func`` or ``environment_factory``.

Two ways in, for TRL 1.16 (``pip install "envtune-gym[train]" "trl==1.16.0"``):

- :func:`make_rollout_func` (**multi-turn, the BFCL path**): TRL hands the rollout function the batch's prompts;
  it plays one whole EnvTune episode per prompt with TRL's own generation (vLLM when ``use_vllm``, else the
  trainer's model), keeping the tokens exactly as :class:`~envtune_gym.agents.rollout.EpisodeRunner` does for the
  bundled agent: the model's tokens with ``env_mask`` 1, every env message (tool results, errors, the next user
  turn) as the chat template's delta with ``env_mask`` 0. The episode's reward comes from the env's wrappers
  (:class:`~envtune_gym.wrappers.ProgressReward` by default) in an ``env_reward`` column that
  :func:`env_reward` hands to the trainer.
- :func:`make_environment_class` (**single user turn**): a class for ``environment_factory``, one method per tool,
  so TRL runs its own tool-calling loop. TRL cannot inject a second user message, so it fits only tasks with one
  user turn (6 of BFCL's 800, none of the bundled tasks), or the first turn of any task with
  ``first_turn_only=True``.

:func:`task_dataset` builds the ``datasets.Dataset`` both take: one row per task, with a conversational prompt
whose user message carries the task id (TRL passes a rollout function nothing but the prompts).

torch, trl and datasets are imported inside the functions that need them: the package's doctests import every
module, and the suite has to pass without trl installed. The package relies on TRL 1.16 internals where TRL has
no public hook (the trainer's ``_generate_single_turn``, the attributes holding its generation cap); they are
checked at call time with an error naming the version this was written against.

Layout: :mod:`~envtune_gym.integrations.trl.dataset` (:func:`task_dataset`),
:mod:`~envtune_gym.integrations.trl.rollout` (the ``rollout_func`` path, generation through the trainer) and
:mod:`~envtune_gym.integrations.trl.environment` (the ``environment_factory`` path, tool methods synthesised from
the schemas); the engine-neutral helpers (:func:`make_env`, ``WrapperFactory``) are
:mod:`envtune_gym.envs.factory`'s, shared with ``envtune eval`` and the other adapters.

Example:
    >>> from envtune_gym.integrations.trl import env_reward, make_rollout_func, task_dataset
    >>> from trl import GRPOConfig, GRPOTrainer  # doctest: +SKIP
    >>> trainer = GRPOTrainer(  # doctest: +SKIP
    ...     model="Qwen/Qwen3-4B-Instruct-2507",
    ...     reward_funcs=env_reward,
    ...     train_dataset=task_dataset("EnvTune/FileSystem-v0"),
    ...     rollout_func=make_rollout_func("EnvTune/FileSystem-v0", max_episode_tokens=8192),
    ...     args=GRPOConfig(max_completion_length=512, num_generations=8),
    ... )
    >>> trainer.train()  # doctest: +SKIP
"""

from envtune_gym.envs.factory import WrapperFactory, make_env
from envtune_gym.integrations.trl.dataset import task_dataset
from envtune_gym.integrations.trl.environment import (
    EnvTuneEnvironment,
    add_hermes_response_parser,
    first_turn,
    json_type_annotation,
    make_environment_class,
    oracle_messages,
    tool_method,
    tool_methods,
)
from envtune_gym.integrations.trl.rollout import (
    ENV_COLUMNS,
    TRL_VERSION,
    EnvTuneRollout,
    TrainerGenerate,
    env_reward,
    generation_cap,
    make_rollout_func,
    prompt_task_id,
    rollout_output,
)

__all__ = [
    "ENV_COLUMNS",
    "TRL_VERSION",
    "EnvTuneEnvironment",
    "EnvTuneRollout",
    "TrainerGenerate",
    "WrapperFactory",
    "add_hermes_response_parser",
    "env_reward",
    "first_turn",
    "generation_cap",
    "json_type_annotation",
    "make_env",
    "make_environment_class",
    "make_rollout_func",
    "oracle_messages",
    "prompt_task_id",
    "rollout_output",
    "task_dataset",
    "tool_method",
    "tool_methods",
]
