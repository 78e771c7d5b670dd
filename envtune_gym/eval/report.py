"""An evaluation's files: ``trajectories.jsonl``, ``summary.json``, ``summary.md`` and ``accuracy.png``, and
with per-turn evaluation ``per_turn.jsonl`` (its episodes) and the per-turn scores in the other three.

Scores are fractions in ``summary.json`` and percentages (as BFCL and the Environment Tuning paper print them)
in ``summary.md``. The chart is drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), no
pyplot; without matplotlib it is skipped with a warning.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from envtune_gym.eval.scores import OVERALL, EvalResult, GroupScores, PerTurnScores, TurnScores

TRAJECTORIES_FILE = "trajectories.jsonl"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
ACCURACY_PNG = "accuracy.png"
PER_TURN_FILE = "per_turn.jsonl"


def write_report(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the four files into ``out_dir`` (created if missing); returns their paths by name.

    Example:
        >>> import tempfile
        >>> from envtune_gym.eval import OraclePolicy, evaluate
        >>> result = evaluate("EnvTune/Trading-v0", OraclePolicy, limit=2, workers=1, progress=False)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     paths = write_report(result, out)
        ...     json.loads(paths["summary"].read_text())["accuracy"]["overall"]
        1.0
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "trajectories": out / TRAJECTORIES_FILE,
        "summary": out / SUMMARY_JSON,
        "markdown": out / SUMMARY_MD,
    }
    _write_jsonl(paths["trajectories"], result.episodes)
    if result.turn_episodes:
        paths["per_turn"] = out / PER_TURN_FILE
        _write_jsonl(paths["per_turn"], result.turn_episodes)
    paths["summary"].write_text(json.dumps(summary_dict(result), indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown_report(result), encoding="utf-8")
    png = plot_accuracy(result, out / ACCURACY_PNG)
    if png is not None:
        paths["chart"] = png
    return paths


def _write_jsonl(path: Path, episodes: list[Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for episode in episodes:
            handle.write(json.dumps(episode.to_dict(), ensure_ascii=False) + "\n")


def summary_dict(result: EvalResult) -> dict[str, Any]:
    """``summary.json``'s content: accuracy, pass@k and pass^k by category (``overall`` last) and by domain.

    ``pass_at_k`` and ``pass_hat_k`` map each category to ``{"1": ..., "2": ..., ...}`` (k as a string, as
    JSON keys are); ``by_domain`` maps each domain key to its ``tasks``, ``episodes``, ``accuracy``,
    ``pass_at_k`` and ``pass_hat_k``. ``per_turn`` is ``None`` unless each checked turn was also played alone
    (:func:`per_turn_dict`).
    """
    scores = result.scores
    return {
        "env_id": result.env_id,
        "policy": result.policy,
        "samples": result.samples,
        "tasks": result.tasks,
        "episodes": len(result.episodes),
        "env_kwargs": _jsonable(result.env_kwargs),
        "accuracy": {name: group.accuracy for name, group in scores.by_category.items()},
        "pass_at_k": {name: _by_k(group.pass_at_k) for name, group in scores.by_category.items()},
        "pass_hat_k": {name: _by_k(group.pass_hat_k) for name, group in scores.by_category.items()},
        "tasks_by_category": {name: group.tasks for name, group in scores.by_category.items()},
        "by_domain": {key: _group_dict(group) for key, group in scores.by_domain.items()},
        "errors": scores.errors,
        "per_turn": None if scores.per_turn is None else per_turn_dict(scores.per_turn),
        "seconds": round(result.seconds, 2),
    }


def per_turn_dict(scores: PerTurnScores) -> dict[str, Any]:
    """``summary.json``'s ``per_turn``: ``accuracy`` and ``turns`` ((task, turn) pairs) by category, ``overall``
    last, as the episode scores; ``by_turn`` and ``by_category_turn`` keyed by turn index (a string), each entry
    ``{"turns", "episodes", "accuracy"}``.

    Example:
        >>> from envtune_gym.eval import OraclePolicy, evaluate
        >>> result = evaluate("EnvTune/Travel-v0", OraclePolicy, limit=2, workers=1, progress=False, per_turn=True)
        >>> per_turn = per_turn_dict(result.scores.per_turn)
        >>> per_turn["accuracy"]["overall"], sorted(per_turn["by_turn"])[:2]
        (1.0, ['0', '1'])
    """
    return {
        "accuracy": {name: group.accuracy for name, group in scores.by_category.items()},
        "turns": {name: group.turns for name, group in scores.by_category.items()},
        "episodes": {name: group.episodes for name, group in scores.by_category.items()},
        "by_turn": {str(turn): _turn_dict(group) for turn, group in scores.by_turn.items()},
        "by_category_turn": {
            name: {str(turn): _turn_dict(group) for turn, group in turns.items()}
            for name, turns in scores.by_category_turn.items()
        },
    }


def _turn_dict(group: TurnScores) -> dict[str, Any]:
    return {"turns": group.turns, "episodes": group.episodes, "accuracy": group.accuracy}


def markdown_report(result: EvalResult) -> str:
    """A heading, the category table (accuracy, pass@k, pass^k in %) and the domain table; with per-turn scores,
    a ``per-turn`` column after accuracy and a table of per-turn accuracy by turn index and category.

    Example:
        >>> from envtune_gym.eval import OraclePolicy, evaluate
        >>> result = evaluate("EnvTune/Travel-v0", OraclePolicy, limit=2, workers=1, progress=False)
        >>> print(markdown_report(result).splitlines()[4])
        | category | tasks | accuracy |
    """
    ks = _shown_ks(result.samples)
    header = ["tasks", "accuracy"] + [f"pass@{k}" for k in ks] + [f"pass^{k}" for k in ks]
    categories = [
        _row(f"**{name}**" if name == OVERALL else name, group, ks)
        for name, group in result.scores.by_category.items()
    ]
    per_turn = result.scores.per_turn
    category_header = ["category", *header]
    if per_turn is not None:  # next to BFCL's episode accuracy
        category_header.insert(3, "per-turn")
        for row, name in zip(categories, result.scores.by_category, strict=True):
            group = per_turn.by_category.get(name)
            row.insert(3, "-" if group is None else _percent(group.accuracy))
    domains = [_row(key, group, ks) for key, group in result.scores.by_domain.items()]
    errors = result.scores.errors
    lines = [
        f"## {result.env_id}: {result.policy}",
        "",
        f"{result.tasks} tasks x {result.samples} sample(s) = {len(result.episodes)} episodes, "
        f"{_kwargs_text(result.env_kwargs)}; scores in %.",
        "",
        *_table(category_header, categories),
        "",
        *_table(["domains", *header], domains),
    ]
    if per_turn is not None:
        lines += ["", *_turn_table(per_turn)]
    if errors.get("episodes"):
        lines += [
            "",
            f"{errors['episodes']} episode(s) ended in a policy error, e.g. `{errors['examples'][0]['error']}`",
        ]
    return "\n".join(lines) + "\n"


def _turn_table(scores: PerTurnScores) -> list[str]:
    """Per-turn accuracy by turn index (rows) and category (columns, then every category pooled)."""
    categories = list(scores.by_category_turn)
    rows = [
        [str(turn), str(group.turns)]
        + [_cell(scores.by_category_turn[name].get(turn)) for name in categories]
        + [_percent(group.accuracy)]
        for turn, group in scores.by_turn.items()
    ]
    note = (
        f"Per-turn accuracy in %: each checked turn played alone from its ground-truth start "
        f"({scores.overall.turns} turns, {scores.overall.episodes} episodes)."
    )
    return [note, "", *_table(["turn", "turns", *categories, "all"], rows)]


def _cell(group: TurnScores | None) -> str:
    return "-" if group is None else _percent(group.accuracy)


def plot_accuracy(result: EvalResult, png_path: str | Path) -> Path | None:
    """A bar chart of accuracy by category (and overall) and by domain set; ``None`` without matplotlib.

    With per-turn scores, each category's per-turn accuracy is a green diamond on its bar, and a third panel
    shows per-turn accuracy by turn index.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        warnings.warn(
            "plot_accuracy: matplotlib is not installed, no chart (pip install matplotlib)", stacklevel=2
        )
        return None
    categories = result.scores.by_category
    domains = result.scores.by_domain
    per_turn = result.scores.per_turn
    panels = [len(categories) + 0.8, len(domains) + 0.8]
    if per_turn is not None:
        panels.append(len(per_turn.by_turn) + 0.8)
    height = 2.2 + 0.32 * sum(panels)
    figure = Figure(figsize=(8.5, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, height_ratios=panels)
    turn_marks = None if per_turn is None else per_turn.by_category
    _bars(axes[0], categories, "category", highlight=OVERALL, legend=True, per_turn=turn_marks)
    _bars(axes[1], domains, "domains")
    if per_turn is not None:
        _turn_bars(axes[2], per_turn.by_turn)
    axes[-1].set_xlabel("accuracy (%)")
    figure.suptitle(f"{result.env_id}: {result.policy}, {result.tasks} tasks x {result.samples} sample(s)")
    path = Path(png_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def _bars(axes: Any, groups: dict[str, GroupScores], label: str, *, highlight: str | None = None,
          legend: bool = False, per_turn: dict[str, TurnScores] | None = None) -> None:  # fmt: skip
    names = list(groups)
    values = [100 * groups[name].accuracy for name in names]
    positions = list(range(len(names)))
    colors = ["tab:orange" if name == highlight else "tab:blue" for name in names]
    axes.barh(positions, values, color=colors, height=0.7, label="accuracy")
    ends = list(values)
    samples = max(groups[names[0]].pass_at_k) if names else 1
    if samples > 1:  # pass@n and pass^n as ticks around the accuracy bar
        for key, color, text in (("pass_at_k", "black", "pass@"), ("pass_hat_k", "tab:red", "pass^")):
            xs = [100 * getattr(groups[name], key)[samples] for name in names]
            axes.scatter(
                xs, positions, marker="|", color=color, s=90, linewidths=2, zorder=3, label=f"{text}{samples}"
            )
            ends = [max(end, x) for end, x in zip(ends, xs, strict=True)]
    if per_turn is not None:  # per-turn accuracy next to BFCL's episode accuracy
        shown = [
            (position, 100 * per_turn[name].accuracy)
            for position, name in enumerate(names)
            if name in per_turn
        ]
        axes.scatter([x for _, x in shown], [y for y, _ in shown], marker="D", color="tab:green", s=28, zorder=4,
                     label="per-turn")  # fmt: skip
        for y, x in shown:
            ends[y] = max(ends[y], x)
    for position, value, end in zip(positions, values, ends, strict=True):
        axes.text(end + 1.2, position, f"{value:.1f}", va="center", fontsize="x-small")
    axes.set_yticks(positions, [f"{name} ({groups[name].tasks})" for name in names], fontsize="small")
    axes.invert_yaxis()  # first entry on top, as in the tables
    axes.set_xlim(0, 109)
    axes.set_ylabel(label)
    axes.grid(True, axis="x", alpha=0.3)
    if legend:
        axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize="x-small", frameon=False)


def _turn_bars(axes: Any, by_turn: dict[int, TurnScores]) -> None:
    """Per-turn accuracy by turn index, every category pooled."""
    positions = list(range(len(by_turn)))
    values = [100 * group.accuracy for group in by_turn.values()]
    axes.barh(positions, values, color="tab:green", height=0.7)
    for position, value in zip(positions, values, strict=True):
        axes.text(value + 1.2, position, f"{value:.1f}", va="center", fontsize="x-small")
    labels = [f"turn {turn} ({group.turns})" for turn, group in by_turn.items()]
    axes.set_yticks(positions, labels, fontsize="small")
    axes.invert_yaxis()
    axes.set_xlim(0, 109)
    axes.set_ylabel("per-turn")
    axes.grid(True, axis="x", alpha=0.3)


def _shown_ks(samples: int) -> list[int]:
    """The k columns of the tables: all of 2..n up to 4 samples, else powers of two and n."""
    if samples <= 4:
        return list(range(2, samples + 1))
    return sorted({k for k in (2, 4, 8, 16, 32, 64) if k < samples} | {samples})


def _row(name: str, group: GroupScores, ks: list[int]) -> list[str]:
    cells = [name, str(group.tasks), _percent(group.accuracy)]
    cells += [_percent(group.pass_at_k[k]) for k in ks] + [_percent(group.pass_hat_k[k]) for k in ks]
    return cells


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def _by_k(values: dict[int, float]) -> dict[str, float]:
    return {str(k): value for k, value in values.items()}


def _group_dict(group: GroupScores) -> dict[str, Any]:
    return {
        "tasks": group.tasks,
        "episodes": group.episodes,
        "accuracy": group.accuracy,
        "pass_at_k": _by_k(group.pass_at_k),
        "pass_hat_k": _by_k(group.pass_hat_k),
    }


def _kwargs_text(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in kwargs.items()) or "default env"


def _jsonable(value: Any) -> Any:
    """Env arguments as JSON (task objects, should someone pass them, as their ids)."""
    return json.loads(json.dumps(value, default=lambda item: getattr(item, "id", str(item))))
