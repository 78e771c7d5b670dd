"""Single-purpose Gymnasium wrappers of the Environment Tuning method.

- :class:`ProgressReward`: dense per-turn progress reward (mean checked-turn score, in [0, 1]).
- :class:`FormatReward`: the stage-1 syntax reward (well-formed, error-free tool calls).
- :class:`HintAugmentation`: actionable hints on failed steps, from the tool schemas.
- :class:`CurriculumGate`: staged curriculum (task filter, reward, hints per stage) with automatic promotion; it
  switches the hints of a :class:`HintAugmentation` stacked under it, ``CurriculumGate(HintAugmentation(env))``.
"""

from envtune_gym.wrappers.curriculum import DEFAULT_STAGES, CurriculumController, CurriculumGate, Stage
from envtune_gym.wrappers.hints import HintAugmentation, HintLevel
from envtune_gym.wrappers.rewards import FORMAT_ERRORS, FormatReward, ProgressReward, turn_score

__all__ = [
    "DEFAULT_STAGES",
    "FORMAT_ERRORS",
    "CurriculumController",
    "CurriculumGate",
    "FormatReward",
    "HintAugmentation",
    "HintLevel",
    "ProgressReward",
    "Stage",
    "turn_score",
]
