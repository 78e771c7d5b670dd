"""Reward wrappers of the Environment Tuning method: the fine-grained progress reward and the stage-1 format reward.

Both read only the env's documented ``info`` (``turn_result``, ``calls``, ``action_error``, ``num_checked_turns``)
and add ``info["reward_components"]``, so runs can be compared term by term.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

from envtune_gym.info import TurnResult

#: Action-level errors that make a step malformed (the format reward's C_format).
FORMAT_ERRORS = frozenset({"format", "too_long", "too_many_calls"})


def turn_score(result: TurnResult, partial_credit: bool = False) -> float:
    """A checked turn's score in [0, 1]: 1 when it passed (BFCL's rule, the paper's r_state * r_exec).

    With ``partial_credit`` a failed turn earns the share of compared state attributes that match times the share
    of ground-truth results produced; a turn without any call still earns 0, as in the paper's code.

    Example:
        >>> result = {"passed": False, "made_call": True, "state_attributes": 4, "state_attributes_matched": 3,
        ...           "expected_results": 2, "missing_results": ["x"]}
        >>> turn_score(result), turn_score(result, partial_credit=True)
        (0.0, 0.375)
    """
    if result["passed"]:
        return 1.0
    if not partial_credit or not result["made_call"]:
        return 0.0
    total, expected = result["state_attributes"], result["expected_results"]
    state_share = result["state_attributes_matched"] / total if total else 1.0
    result_share = (expected - len(result["missing_results"])) / expected if expected else 1.0
    return state_share * result_share


class ProgressReward(gym.Wrapper[str, str, str, str], gym.utils.RecordConstructorArgs):
    """Dense per-turn reward: each checked turn adds its score divided by the task's number of checked turns.

    The episode return is the mean turn score over the checked turns, in [0, 1]: exactly 1.0 for the ground-truth
    trajectory, less when any checked turn fails. A truncated episode's unreached turns count as failed: the
    denominator is the task's checked turns, not the turns reached (the paper's code divided by the latter).

    Args:
        env: an EnvTune env (or a wrapper of one).
        partial_credit: score failed turns by the share of matching state attributes times the share of
            ground-truth results produced, instead of 0.
        format_penalty: subtracted on a step whose action could not be parsed (off by default).
        execution_penalty: subtracted on a step where a call failed (off by default).

    ``info["reward_components"]`` on every step: ``progress`` (this step's share of the turn scores),
    ``format_penalty`` and ``execution_penalty`` (0, or minus the penalty), and on a checked turn's last step
    ``turn_score`` (that turn's score).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> from envtune_gym.agents.oracle import oracle_actions
        >>> env = ProgressReward(gym.make("EnvTune/FileSystem-v0"))
        >>> _ = env.reset(options={"task_id": "filesystem_base_3"})
        >>> total = sum(env.step(action)[1] for action in oracle_actions(env.unwrapped.task))
        >>> round(total, 10)
        1.0
    """

    def __init__(
        self,
        env: gym.Env[str, str],
        *,
        partial_credit: bool = False,
        format_penalty: float = 0.0,
        execution_penalty: float = 0.0,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            partial_credit=partial_credit,
            format_penalty=format_penalty,
            execution_penalty=execution_penalty,
        )
        gym.Wrapper.__init__(self, env)
        self._scorer = ProgressScorer(partial_credit, format_penalty, execution_penalty)

    @property
    def partial_credit(self) -> bool:
        return self._scorer.partial_credit

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, _, terminated, truncated, info = self.env.step(action)
        reward, info["reward_components"] = self._scorer.score(info, terminated, truncated)
        return observation, reward, terminated, truncated, info


class FormatReward(gym.Wrapper[str, str, str, str], gym.utils.RecordConstructorArgs):
    """The stage-1 syntax reward: well-formed tool calls that execute without errors, whatever the ground truth.

    On the episode's last step: ``R = I_tool * ((N - C_format) / N + C_correct / (C_correct + C_error))``
    (paper Eq. 1-2, counted per step as its code does), where N counts the agent's steps, C_format the steps whose
    action could not be parsed, C_correct / C_error the steps with calls that all succeeded / where one failed, and
    I_tool is 1 when the agent made at least one call. R is in [0, 2]; ``normalize=True`` halves it into [0, 1].
    Every other step earns 0.

    ``info["reward_components"]`` on the last step: ``format`` ((N - C_format) / N), ``tool`` (the success share),
    ``used_tools`` (I_tool), and the counts ``steps``, ``format_errors``, ``correct_steps``, ``error_steps``.

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> from envtune_gym.agents.oracle import oracle_actions
        >>> env = FormatReward(gym.make("EnvTune/FileSystem-v0"))
        >>> _ = env.reset(options={"task_id": "filesystem_base_3"})
        >>> rewards = [env.step(action)[1] for action in oracle_actions(env.unwrapped.task)]
        >>> rewards[-1], sum(rewards[:-1])
        (2.0, 0.0)
    """

    def __init__(self, env: gym.Env[str, str], *, normalize: bool = False) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, normalize=normalize)
        gym.Wrapper.__init__(self, env)
        self.normalize = normalize
        self._scorer = FormatScorer(normalize)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        self._scorer.reset()
        return self.env.reset(seed=seed, options=options)

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, _, terminated, truncated, info = self.env.step(action)
        reward, components = self._scorer.score(info, terminated, truncated)
        if components is not None:
            info["reward_components"] = components
        return observation, reward, terminated, truncated, info


# ----------------------------------------------------------------------------------------------------------------
# The scoring itself, shared by the wrappers above and CurriculumGate (which switches reward by stage)


class ProgressScorer:
    """The progress reward of one step from its ``info``; stateless across steps (see :class:`ProgressReward`)."""

    def __init__(
        self, partial_credit: bool = False, format_penalty: float = 0.0, execution_penalty: float = 0.0
    ):
        if format_penalty < 0 or execution_penalty < 0:
            raise ValueError("penalties are given as non-negative amounts to subtract")
        self.partial_credit = partial_credit
        self.format_penalty = format_penalty
        self.execution_penalty = execution_penalty

    def reset(self) -> None:
        """Nothing to forget between episodes."""

    def score(self, info: dict[str, Any], terminated: bool, truncated: bool) -> tuple[float, dict[str, Any]]:
        components: dict[str, Any] = {"progress": 0.0, "format_penalty": 0.0, "execution_penalty": 0.0}
        result = info.get("turn_result")
        if result is not None and result["checked"]:
            score = turn_score(result, self.partial_credit)
            components["turn_score"] = score
            components["progress"] = score / max(1, info["num_checked_turns"])
        if "action_error" in info and info["action_error"]["category"] in FORMAT_ERRORS:
            components["format_penalty"] = -self.format_penalty
        if any(call["error"] is not None for call in info["calls"]):
            components["execution_penalty"] = -self.execution_penalty
        reward = components["progress"] + components["format_penalty"] + components["execution_penalty"]
        return reward, components


class FormatScorer:
    """The stage-1 format reward, counted over an episode's steps (see :class:`FormatReward`)."""

    def __init__(self, normalize: bool = False) -> None:
        self.normalize = normalize
        self._counts = {"steps": 0, "format_errors": 0, "correct_steps": 0, "error_steps": 0}

    def reset(self) -> None:
        self._counts = dict.fromkeys(self._counts, 0)

    def score(
        self, info: dict[str, Any], terminated: bool, truncated: bool
    ) -> tuple[float, dict[str, Any] | None]:
        counts = self._counts
        counts["steps"] += 1
        if "action_error" in info and info["action_error"]["category"] in FORMAT_ERRORS:
            counts["format_errors"] += 1
        elif info["calls"]:
            failed = any(call["error"] is not None for call in info["calls"])
            counts["error_steps" if failed else "correct_steps"] += 1
        if not (terminated or truncated):
            return 0.0, None
        with_calls = counts["correct_steps"] + counts["error_steps"]
        components = {
            "format": (counts["steps"] - counts["format_errors"]) / counts["steps"],
            "tool": counts["correct_steps"] / with_calls if with_calls else 0.0,
            "used_tools": 1.0 if with_calls else 0.0,
            **counts,
        }
        reward = components["used_tools"] * (components["format"] + components["tool"])
        return (reward / 2 if self.normalize else reward), components
