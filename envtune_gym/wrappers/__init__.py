"""Single-purpose Gymnasium wrappers of the Environment Tuning method.

- :class:`ProgressReward`: dense per-turn progress reward (mean checked-turn score, in [0, 1]).
- :class:`FormatReward`: the stage-1 syntax reward (well-formed, error-free tool calls).
- :class:`HintAugmentation`: actionable hints on failed steps, from the tool schemas.
"""

from envtune_gym.wrappers.hints import HintAugmentation, HintLevel
from envtune_gym.wrappers.rewards import FORMAT_ERRORS, FormatReward, ProgressReward, turn_score

__all__ = ["FORMAT_ERRORS", "FormatReward", "HintAugmentation", "HintLevel", "ProgressReward", "turn_score"]
