"""Tasks: the Task model, bundled task files and the BFCL loader."""

from envtune_gym.tasks.model import CATEGORIES, Category, Task

__all__ = ["CATEGORIES", "Category", "Task"]
