"""What an evaluation records: an :class:`EpisodeRecord` per (task, sample), and with ``--per-turn`` one per
(task, checked turn, sample) played from that turn's ground-truth start (gathered, with the scores, in
:class:`~envtune_gym.eval.scores.EvalResult`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EpisodeRecord:
    """One episode of one task: its verdict and everything that happened, JSON-able.

    Example:
        >>> record = EpisodeRecord("filesystem_base_0", "base", ["GorillaFileSystem"], sample=0, success=True)
        >>> record.to_dict()["success"], record.domain_key
        (True, 'GorillaFileSystem')
    """

    task_id: str
    category: str
    domains: list[str]
    sample: int
    #: The env's final ``info["success"]`` (BFCL's verdict); False when the episode ended in an error.
    success: bool = False
    #: The env's reward summed over the episode (1.0 or 0.0 with the plain env).
    reward: float = 0.0
    #: ``terminated`` (last turn done), ``truncated`` (a turn ran out of steps), ``error`` (policy failed).
    finish: str = ""
    num_turns: int = 0
    #: The turns played: from ``start_turn`` (from the ground-truth state after the turns before it) to
    #: ``end_turn`` (``None``: the task's last). A per-turn episode has ``start_turn == end_turn``.
    start_turn: int = 0
    end_turn: int | None = None
    turns_checked: int = 0
    turns_passed: int = 0
    #: Per step: ``action``, ``observation``, ``calls`` (name, arguments, result, error), and where they
    #: happened ``action_error``, ``turn_result`` and ``new_tools``.
    steps: list[dict[str, Any]] = field(default_factory=list)
    #: The conversation: the policy's own chat messages where it keeps them (the endpoint policy), else the
    #: env's transcript as ``{"role", "content"}`` (roles ``user``, ``assistant``, ``tool``).
    messages: list[dict[str, Any]] = field(default_factory=list)
    #: Why the episode stopped early (an :class:`~envtune_gym.eval.endpoint.EndpointError`...), else ``None``.
    error: str | None = None
    seconds: float = 0.0

    @property
    def domain_key(self) -> str:
        """The task's domains, sorted and joined with ``+``: the key of the per-domain scores."""
        return domain_key(self.domains)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (one line of ``trajectories.jsonl``)."""
        return asdict(self)


def domain_key(domains: list[str]) -> str:
    """``["TwitterAPI", "GorillaFileSystem"]`` -> ``"GorillaFileSystem+TwitterAPI"`` (order-independent)."""
    return "+".join(sorted(domains))
