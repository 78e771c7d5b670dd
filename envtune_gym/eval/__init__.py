"""``envtune eval``: score any policy on any EnvTune env the way BFCL does (accuracy, pass@k, pass^k), and each
checked turn alone from its ground-truth start (per-turn accuracy).

Example:
    >>> from envtune_gym.eval import OraclePolicy, evaluate
    >>> result = evaluate("EnvTune/FileSystem-v0", OraclePolicy, limit=4, workers=2, progress=False)
    >>> result.scores.overall.accuracy
    1.0
"""

from envtune_gym.eval.batching import BatchedGenerator
from envtune_gym.eval.endpoint import EndpointError, OpenAIPolicy
from envtune_gym.eval.policies import (
    ContextLengthError,
    OraclePolicy,
    Policy,
    PolicyError,
    RandomPolicy,
    TaskInfo,
    TransformersPolicy,
)
from envtune_gym.eval.records import EpisodeRecord
from envtune_gym.eval.report import markdown_report, summary_dict, write_report
from envtune_gym.eval.runner import evaluate, run_episode
from envtune_gym.eval.scores import (
    EvalResult,
    GroupScores,
    PerTurnScores,
    Scores,
    TurnScores,
    pass_at_k,
    pass_hat_k,
    score_episodes,
    score_turns,
)

__all__ = [
    "BatchedGenerator",
    "ContextLengthError",
    "EndpointError",
    "EpisodeRecord",
    "EvalResult",
    "GroupScores",
    "OpenAIPolicy",
    "OraclePolicy",
    "PerTurnScores",
    "Policy",
    "PolicyError",
    "RandomPolicy",
    "Scores",
    "TaskInfo",
    "TransformersPolicy",
    "TurnScores",
    "evaluate",
    "markdown_report",
    "pass_at_k",
    "pass_hat_k",
    "run_episode",
    "score_episodes",
    "score_turns",
    "summary_dict",
    "write_report",
]
