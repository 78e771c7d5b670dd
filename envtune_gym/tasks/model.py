"""The :class:`Task` model: one multi-turn scenario with its initial state, user turns and ground truth."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Category = Literal["base", "miss_func", "miss_param", "long_context"]
CATEGORIES: tuple[Category, ...] = ("base", "miss_func", "miss_param", "long_context")


class Task(BaseModel):
    """A multi-turn tool-use task in BFCL's shape.

    ``turns[i]`` is the user's message of turn ``i`` (it may be empty: BFCL's miss_func reveal turns are).
    ``ground_truth[i]`` lists the calls of turn ``i`` in BFCL's python-call syntax (``"cd(folder='docs')"``); an
    empty list means the turn is not checked (the user asked for something the agent cannot or should not do
    yet). ``held_out`` maps a turn index to tool names hidden until that turn.

    Example:
        >>> task = Task(
        ...     id="demo_0", category="base", domains=["GorillaFileSystem"],
        ...     initial_config={"GorillaFileSystem": {"root": {"home": {"type": "directory", "contents": {}}}}},
        ...     turns=["Create a folder named 'notes'."], ground_truth=[["mkdir(dir_name='notes')"]],
        ... )
        >>> task.num_turns, task.checked_turns
        (1, [0])
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    category: Category
    domains: list[str] = Field(min_length=1, description="BFCL class names of the involved domains, in order")
    initial_config: dict[str, dict[str, Any]] = Field(default_factory=dict)
    turns: list[str] = Field(min_length=1)
    ground_truth: list[list[str]]
    held_out: dict[int, list[str]] = Field(default_factory=dict)
    long_context: bool | None = Field(
        default=None,
        description="load domains with long-context padding; defaults to category == 'long_context'",
    )
    description: str = ""
    difficulty: dict[str, int] = Field(
        default_factory=dict,
        description="measured difficulty of a synthesized task (turns, calls_per_turn, depth, state_size, "
        "distractors), which curriculum stages can select by; empty for hand-written and BFCL tasks",
    )

    @model_validator(mode="after")
    def _check_shape(self) -> Task:
        if len(self.turns) != len(self.ground_truth):
            raise ValueError(
                f"task {self.id}: {len(self.turns)} turns but {len(self.ground_truth)} ground-truth turns; "
                "give one (possibly empty) list of calls per turn"
            )
        for turn, names in self.held_out.items():
            if not 0 < turn < len(self.turns):
                raise ValueError(f"task {self.id}: held_out turn {turn} must be in 1..{len(self.turns) - 1}")
            if not names:
                raise ValueError(f"task {self.id}: held_out turn {turn} names no tool")
        unknown = set(self.initial_config) - set(self.domains)
        if unknown:
            raise ValueError(
                f"task {self.id}: initial_config for {sorted(unknown)} not in domains {self.domains}"
            )
        return self

    @property
    def num_turns(self) -> int:
        """How many user turns the task has."""
        return len(self.turns)

    @property
    def checked_turns(self) -> list[int]:
        """Indices of the turns the checker verifies (those with non-empty ground truth)."""
        return [index for index, calls in enumerate(self.ground_truth) if calls]

    @property
    def uses_long_context(self) -> bool:
        """Whether domains load with BFCL's long-context padding."""
        return self.category == "long_context" if self.long_context is None else self.long_context

    def hidden_tools_at(self, turn: int) -> set[str]:
        """Tool names still held out while turn ``turn`` runs."""
        if not self.held_out:  # most tasks hold nothing out; this runs at every turn's end
            return set()
        return {name for reveal, names in self.held_out.items() if reveal > turn for name in names}
