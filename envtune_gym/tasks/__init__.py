"""Tasks: the Task model, bundled task files, the BFCL loader, and ground truth in one place.

:mod:`envtune_gym.tasks.ground_truth` parses, binds and validates a task's ground truth once (the shadow, the
oracle, the SB3 catalogue and eval read it there); :mod:`envtune_gym.tasks.oracle` replays it as actions.
"""

from envtune_gym.tasks.model import CATEGORIES, Category, Task

__all__ = ["CATEGORIES", "Category", "Task"]
