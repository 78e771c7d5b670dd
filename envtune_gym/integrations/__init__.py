"""Integrations with RL libraries. Each submodule imports its library's extras only when used; importing this
package imports none of them (no torch, no stable-baselines3).

- :mod:`envtune_gym.integrations.sb3`: Stable-Baselines3 wrappers (``pip install "envtune-gym[sb3]"``): discrete
  actions over a catalogue of candidate calls, hashed text observations, :func:`~envtune_gym.integrations.sb3.make_sb3_env`.
- :mod:`envtune_gym.integrations.trl`: TRL's ``GRPOTrainer`` (``pip install "envtune-gym[train]" "trl==1.16.0"``): a
  ``rollout_func`` for whole multi-turn episodes (:func:`~envtune_gym.integrations.trl.make_rollout_func`), an
  ``environment_factory`` class for single-user-turn tasks, and :func:`~envtune_gym.integrations.trl.task_dataset`.
- :mod:`envtune_gym.integrations.verl`: verl (``pip install "envtune-gym[verl]"``): an ``AgentLoopBase`` registered
  as ``"envtune_env"`` for multi-GPU GRPO over vLLM/SGLang, the parquet task rows and the agent-loop config.
- :mod:`envtune_gym.integrations.common`: the engine-neutral helpers they share (wrapped envs, task selection).
"""
