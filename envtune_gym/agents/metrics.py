"""Training metrics: a JSON-lines + TensorBoard logger, learning-curve plots, a progress bar and summaries.

The training loop logs one flat row (``str -> int | float | str | None``, always with ``"step"``) per optimizer
step. :class:`MetricsLogger` appends it to ``metrics.jsonl`` (the source of truth, readable by
:func:`read_metrics`) and mirrors the numbers to TensorBoard; :func:`plot_curves` draws reward and success against
the step with the curriculum stages marked; :class:`ProgressBar` shows the live numbers; :func:`summarize` compares
the first and last quarter of a run.

The module needs only the standard library and numpy. TensorBoard (``torch.utils.tensorboard`` or
``tensorboardX``), matplotlib and tqdm are imported when first needed; without them the feature is skipped with one
warning, never an error.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

#: The file :class:`MetricsLogger` writes inside its output folder.
METRICS_FILE = "metrics.jsonl"
#: The folder (inside the output folder) for TensorBoard event files.
TENSORBOARD_DIR = "tensorboard"

Row = dict[str, Any]

__all__ = [
    "METRICS_FILE",
    "TENSORBOARD_DIR",
    "MetricsLogger",
    "ProgressBar",
    "format_postfix",
    "plot_curves",
    "read_metrics",
    "summarize",
]


class MetricsLogger:
    """Persists one metrics row per optimizer step: ``out_dir/metrics.jsonl`` and TensorBoard scalars.

    Each row becomes one JSON line, flushed at once so that a crash loses nothing; NaN and infinities are written
    as ``null`` so the file stays valid JSON. Every numeric value other than ``step`` also becomes a TensorBoard
    scalar under its key at global step ``row["step"]`` (in ``out_dir/tensorboard/``). ``.rows`` holds the rows
    (as given) in memory in every case; with ``out_dir=None`` that is all it does.

    Args:
        out_dir: the output folder (created if missing), or ``None`` to keep rows in memory only.
        tensorboard: also write TensorBoard scalars, through ``torch.utils.tensorboard`` or else ``tensorboardX``
            (skipped with one warning if neither imports).
        resume: continue an earlier run in ``out_dir``: its rows are loaded into ``.rows``, and those with a step
            at or after the first step logged now are dropped (see :meth:`truncate_after`), in the file and in
            TensorBoard. Without it an existing ``metrics.jsonl`` is replaced.
        filename: the JSON-lines file's name in ``out_dir`` (the SFT warm start writes ``sft_metrics.jsonl``).

    Example:
        >>> with MetricsLogger(None) as logger:
        ...     logger.log({"step": 0, "reward_mean": 0.25, "stage": "syntax"})
        ...     logger.log({"step": 1, "reward_mean": float("nan"), "stage": "syntax"})
        >>> [row["step"] for row in logger.rows]
        [0, 1]
    """

    def __init__(
        self,
        out_dir: str | Path | None,
        *,
        tensorboard: bool = True,
        resume: bool = False,
        filename: str = METRICS_FILE,
    ) -> None:
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.filename = filename
        self.rows: list[Row] = []
        self._resume_pending = resume
        self._closed = False
        self._file: TextIO | None = None
        self._writer: Any = None
        self._writer_class: Any = None
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            self.rows = read_metrics(self.path)
        self._file = self.path.open("a" if resume else "w", encoding="utf-8")
        if tensorboard:
            self._writer_class = _summary_writer_class()

    @property
    def writes_tensorboard(self) -> bool:
        """Whether scalars go to ``out_dir/tensorboard/`` (an output directory and a TensorBoard writer)."""
        return self.out_dir is not None and self._writer_class is not None

    @property
    def path(self) -> Path | None:
        """``out_dir/metrics.jsonl`` (or the ``filename`` given), ``None`` when rows are kept in memory only."""
        return self.out_dir / self.filename if self.out_dir is not None else None

    def log(self, row: dict[str, Any]) -> None:
        """Appends one row: a JSON line, TensorBoard scalars and an entry of ``.rows``.

        Raises:
            ValueError: if ``row`` has no integer ``"step"``, or the logger is closed.

        Example:
            >>> logger = MetricsLogger(None)
            >>> logger.log({"reward_mean": 1.0})
            Traceback (most recent call last):
                ...
            ValueError: metrics row needs an integer 'step' (the optimizer step); got keys ['reward_mean']
        """
        step = _row_step(row)
        if self._closed:
            raise ValueError("MetricsLogger.log() called after close()")
        if self._resume_pending:
            # A resumed run re-logs from its checkpoint step: drop what the crashed run wrote from there on.
            self.truncate_after(step)
        self.rows.append(dict(row))
        if self._file is not None:
            self._file.write(_json_line(row) + "\n")
            self._file.flush()
        self._write_scalars(row, step)

    def truncate_after(self, step: int) -> None:
        """Keeps only rows with a step before ``step`` (in ``.rows`` and, atomically rewritten, in the file).

        The trainer calls it with the step it resumes from; it is a no-op on rows already before it.

        Example:
            >>> logger = MetricsLogger(None)
            >>> for step in range(4):
            ...     logger.log({"step": step})
            >>> logger.truncate_after(2)
            >>> [row["step"] for row in logger.rows]
            [0, 1]
        """
        self._resume_pending = False
        self.rows = [row for row in self.rows if _kept(row, step)]
        if self._file is None or self.path is None:
            return
        self._file.close()
        kept = [row for row in read_metrics(self.path) if _kept(row, step)] if self.path.exists() else []
        _write_atomically(self.path, "".join(_json_line(row) + "\n" for row in kept))
        self._file = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        """Flushes and closes the file and the TensorBoard writer; calling it again does nothing."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write_scalars(self, row: Row, step: int) -> None:
        if self._writer_class is None or self.out_dir is None:
            return
        if self._writer is None:
            # purge_step hides events at or after the first step from earlier runs in the same folder, so a
            # restarted or resumed run does not draw over stale curves (and no event file is deleted).
            log_dir = str(self.out_dir / TENSORBOARD_DIR)
            self._writer = self._writer_class(log_dir=log_dir, purge_step=step, flush_secs=10)
        for key, value in row.items():
            if key != "step" and _is_number(value):
                self._writer.add_scalar(key, float(value), global_step=step)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` file (or of the one inside a run folder), in file order.

    A partial last line (a crash mid-write) is skipped with a warning; a bad line elsewhere raises ValueError.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as out:
        ...     with MetricsLogger(out, tensorboard=False) as logger:
        ...         logger.log({"step": 0, "loss": float("inf")})
        ...     read_metrics(out)
        [{'step': 0, 'loss': None}]
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows: list[Row] = []
    for number, line in enumerate(lines, start=1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number < len(lines):
                raise ValueError(f"{path}:{number}: not a JSON metrics row ({error})") from error
            warnings.warn(f"{path}:{number}: skipping a partial last line", stacklevel=2)
    return rows


def summarize(rows: Sequence[dict[str, Any]], key: str) -> dict[str, float]:
    """First-quarter mean, last-quarter mean and their difference of ``key`` over a run.

    Only rows where ``key`` holds a finite number count; a quarter is ``max(1, n // 4)`` of those ``n`` rows.

    Raises:
        ValueError: if ``rows`` is empty, or no row holds a finite number under ``key``.

    Example:
        >>> rows = [{"step": i, "success": s} for i, s in enumerate([0, 0, 0, 1, 0, 1, 1, 1])]
        >>> summarize(rows, "success")
        {'first_quarter': 0.0, 'last_quarter': 1.0, 'improvement': 1.0}
    """
    if not rows:
        raise ValueError(f"cannot summarize {key!r}: no metrics rows")
    values = [float(row[key]) for row in rows if _is_finite(row.get(key))]
    if not values:
        raise ValueError(f"cannot summarize {key!r}: no row holds a finite number under it")
    quarter = max(1, len(values) // 4)
    first, last = float(np.mean(values[:quarter])), float(np.mean(values[-quarter:]))
    return {"first_quarter": first, "last_quarter": last, "improvement": last - first}


def plot_curves(
    metrics: str | Path | Sequence[dict[str, Any]], png_path: str | Path, *, title: str | None = None
) -> Path | None:
    """Draws ``reward_mean`` and ``success`` against the step into a PNG, with the curriculum stages marked.

    The top panel shows the reward per step, a ± ``reward_std`` band when logged, and a rolling mean; the bottom
    panel shows success and its rolling mean. A dashed vertical line marks each change of ``stage``, labelled
    with ``stage_name`` when logged. Drawn on a bare Agg canvas, so a caller's pyplot backend is left alone.

    Args:
        metrics: the rows, or a ``metrics.jsonl`` file or run folder to read them from.
        png_path: where to write the PNG (its folder is created if missing).
        title: the figure title.

    Returns:
        ``png_path``, or ``None`` (with a warning) when matplotlib is not installed.

    Example:
        >>> import tempfile
        >>> rows = [{"step": i, "reward_mean": i / 10, "success": i % 2, "stage": i // 5} for i in range(10)]
        >>> with tempfile.TemporaryDirectory() as out:
        ...     png = plot_curves(rows, Path(out) / "curves.png", title="demo")  # None without matplotlib
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        warnings.warn(
            "plot_curves: matplotlib is not installed, no plot (pip install matplotlib)", stacklevel=2
        )
        return None
    rows = _plot_rows(metrics)
    figure = Figure(figsize=(10, 7), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    reward_axes, success_axes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    steps = np.array([row["step"] for row in rows], dtype=float)
    _draw_reward(reward_axes, steps, rows)
    _draw_success(success_axes, steps, rows)
    for axes in (reward_axes, success_axes):
        _draw_stages(axes, steps, rows, labels=axes is reward_axes)
        axes.grid(True, alpha=0.3)
    success_axes.set_xlabel("optimizer step")
    if title:
        figure.suptitle(title)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, format="png")
    return png_path


class ProgressBar:
    """A training progress bar showing the live reward, success, stage and loss.

    It wraps tqdm when installed; otherwise it prints a plain line every ``print_every`` steps (and at the end).
    With ``enabled=False`` it prints nothing.

    Args:
        total: the number of steps of the whole run.
        initial: steps already done (a resumed run).
        desc: the label in front of the bar.
        enabled: whether to show anything at all.
        file: the stream to write to (``sys.stderr`` at construction time by default).
        print_every: steps between plain lines without tqdm (default: about 20 lines per run).

    Example:
        >>> with ProgressBar(total=2, enabled=False) as bar:
        ...     bar.update({"step": 0, "reward_mean": 0.5, "success": 0.0, "stage": "syntax"})
        >>> bar.n
        1
    """

    def __init__(
        self,
        total: int,
        initial: int = 0,
        desc: str = "train",
        enabled: bool = True,
        *,
        file: TextIO | None = None,
        print_every: int | None = None,
    ) -> None:
        self.total, self.n, self.desc, self.enabled = total, initial, desc, enabled
        self.file = file if file is not None else sys.stderr
        self.print_every = print_every or max(1, total // 20)
        self._start = time.monotonic()
        self._tqdm: Any = None
        self._closed = False
        if enabled:
            self._tqdm = _make_tqdm(total, initial, desc, self.file)

    def update(self, row: dict[str, Any]) -> None:
        """Advances one step and shows the row's ``reward_mean``, ``success``, ``stage`` and ``loss``."""
        self.n += 1
        if not self.enabled or self._closed:
            return
        postfix = format_postfix(row)
        if self._tqdm is not None:
            # No forced refresh: tqdm redraws at most every `mininterval`, and close() draws the last state.
            self._tqdm.set_postfix_str(postfix, refresh=False)
            self._tqdm.update(1)
        elif self.n % self.print_every == 0 or self.n >= self.total:
            self._print_line(postfix)

    def close(self) -> None:
        """Finishes the bar; calling it again does nothing."""
        if self._tqdm is not None and not self._closed:
            self._tqdm.close()
        self._closed = True

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _print_line(self, postfix: str) -> None:
        percent = f" ({100 * self.n / self.total:.0f}%)" if self.total > 0 else ""
        elapsed = time.monotonic() - self._start
        print(
            f"{self.desc} {self.n}/{self.total}{percent} {postfix} [{elapsed:.1f}s]",
            file=self.file,
            flush=True,
        )


def format_postfix(row: dict[str, Any]) -> str:
    """The compact live numbers of a row, as the progress bar shows them.

    Example:
        >>> format_postfix({"step": 3, "reward_mean": 0.41666, "success": 0.25, "stage": 1, "loss": 0.0123})
        'reward=0.417 success=0.25 stage=1 loss=0.0123'
        >>> format_postfix({"stage": 1, "stage_name": "base", "loss": None})
        'stage=base'
    """
    stage = row.get("stage_name", row.get("stage"))
    parts = [
        ("reward", row.get("reward_mean")),
        ("success", row.get("success")),
        ("stage", stage),
        ("loss", row.get("loss")),
    ]
    return " ".join(f"{name}={_short(value)}" for name, value in parts if value is not None)


# --- helpers -----------------------------------------------------------------------------------------------------


def _row_step(row: dict[str, Any]) -> int:
    step = row.get("step")
    if isinstance(step, (bool, float)) or not isinstance(step, (int, np.integer)):
        raise ValueError(
            f"metrics row needs an integer 'step' (the optimizer step); got keys {sorted(row)}"
            if step is None
            else f"metrics row 'step' must be an integer, got {step!r}"
        )
    return int(step)


def _kept(row: Row, step: int) -> bool:
    return isinstance(row.get("step"), (int, np.integer)) and row["step"] < step


def _jsonable(value: Any) -> Any:
    """``value`` with numpy types made plain and non-finite floats made ``None``, recursively."""
    if isinstance(value, (np.generic, np.ndarray)):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def _json_line(row: Row) -> str:
    # allow_nan=False guarantees valid JSON; default=str keeps an odd value from killing a training run.
    return json.dumps(_jsonable(row), allow_nan=False, default=str)


def _write_atomically(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file and a rename, so a crash leaves old or new, not half."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, np.complexfloating)


def _is_finite(value: Any) -> bool:
    return _is_number(value) and math.isfinite(float(value))


def _short(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    return str(value)


TENSORBOARD_OFF = (
    "TensorBoard logging is off (pip install tensorboard to turn it on); metrics.jsonl is written"
)


def _summary_writer_class() -> Any:
    """``SummaryWriter`` from torch, else from tensorboardX, else ``None`` after one warning."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # ImportError, or a protobuf/tensorboard version clash inside the import
        try:
            from tensorboardX import SummaryWriter
        except Exception:
            # One plain line, not a warning with a source excerpt: it is news, not a fault.
            print(TENSORBOARD_OFF, file=sys.stderr)
            return None
    return SummaryWriter


def _make_tqdm(total: int, initial: int, desc: str, file: TextIO) -> Any:
    try:
        from tqdm import tqdm  # not tqdm.auto: a notebook widget would ignore `file`
    except ImportError:
        return None  # the plain-line fallback is the graceful path; no warning needed
    return tqdm(total=total, initial=initial, desc=desc, file=file, unit="step", dynamic_ncols=True)


def _plot_rows(metrics: str | Path | Sequence[dict[str, Any]]) -> list[Row]:
    rows = read_metrics(metrics) if isinstance(metrics, (str, Path)) else list(metrics)
    # Plot in step order; rows without a step cannot be placed.
    return sorted((row for row in rows if _is_number(row.get("step"))), key=lambda row: row["step"])


def _series(rows: Sequence[Row], key: str) -> np.ndarray:
    """The values of ``key`` as floats, NaN where missing or not a number."""
    return np.array([float(row[key]) if _is_number(row.get(key)) else np.nan for row in rows], dtype=float)


def _rolling_mean(values: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, int]:
    """A trailing rolling mean ignoring NaN, restarted in each stage segment (window: a tenth of the run, 1-50).

    Restarting keeps the drop at a harder stage from being smeared into the end of the easier one.
    """
    window = int(np.clip(len(values) // 10, 1, 50))
    smooth = np.full_like(values, np.nan)
    for segment in np.unique(segments):
        mask = segments == segment
        smooth[mask] = _trailing_mean(values[mask], window)
    return smooth, window


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    finite = np.isfinite(values)
    sums = np.cumsum(np.where(finite, values, 0.0))
    counts = np.cumsum(finite)
    sums[window:] = sums[window:] - sums[:-window]
    counts[window:] = counts[window:] - counts[:-window]
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _stage_segments(rows: Sequence[Row]) -> np.ndarray:
    """The index of each row's stage segment: it grows by one at every change of ``stage``."""
    segments, current, previous = [], 0, None
    for row in rows:
        stage = row.get("stage")
        if stage is not None and previous is not None and stage != previous:
            current += 1
        previous = stage if stage is not None else previous
        segments.append(current)
    return np.array(segments, dtype=int)


def _draw_reward(axes: Any, steps: np.ndarray, rows: Sequence[Row]) -> None:
    reward = _series(rows, "reward_mean")
    axes.set_ylabel("reward (batch mean)")
    if not np.isfinite(reward).any():
        _no_data(axes, "reward_mean")
        return
    std = _series(rows, "reward_std")
    if np.isfinite(std).any():
        band = (reward - std, reward + std)
        axes.fill_between(steps, *band, color="tab:blue", alpha=0.15, linewidth=0, label="± reward_std")
    _draw_series(axes, steps, reward, rows, color="tab:blue", label="reward_mean")


def _draw_success(axes: Any, steps: np.ndarray, rows: Sequence[Row]) -> None:
    success = _series(rows, "success")
    axes.set_ylabel("success rate")
    if not np.isfinite(success).any():
        _no_data(axes, "success")
        return
    _draw_series(axes, steps, success, rows, color="tab:green", label="success")
    finite = success[np.isfinite(success)]
    if finite.min() >= 0 and finite.max() <= 1:
        axes.set_ylim(-0.05, 1.05)


def _draw_series(axes: Any, steps: np.ndarray, values: np.ndarray, rows: Sequence[Row], **style: str) -> None:
    """The raw values (thin) and, on runs long enough to smooth, their rolling mean (thick)."""
    smooth, window = _rolling_mean(values, _stage_segments(rows))
    raw_alpha = 0.45 if window > 1 else 1.0
    axes.plot(steps, values, color=style["color"], alpha=raw_alpha, linewidth=1, label=style["label"])
    if window > 1:
        label = f"rolling mean ({window} steps)"
        axes.plot(steps, smooth, color=style["color"], linewidth=2.2, label=label)
    axes.legend(loc="best", fontsize="small", framealpha=0.85)


def _draw_stages(axes: Any, steps: np.ndarray, rows: Sequence[Row], *, labels: bool) -> None:
    """Dashed lines where ``stage`` changes; the top panel also names each stage above its start."""
    previous: Any = None
    for step, row in zip(steps, rows, strict=True):
        stage = row.get("stage")
        if stage is None or stage == previous:
            continue  # a row without a stage keeps the current one
        if previous is not None:
            axes.axvline(step, color="0.35", linestyle="--", linewidth=1)
        if labels:
            name = row.get("stage_name")
            text = str(name) if name is not None else f"stage {stage}"
            axes.annotate(
                text,
                xy=(step, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 2),
                textcoords="offset points",
                va="bottom",  # above the panel, clear of the data and the legend
                fontsize="small",
                color="0.25",
            )
        previous = stage


def _no_data(axes: Any, key: str) -> None:
    axes.text(0.5, 0.5, f"no {key} logged", transform=axes.transAxes, ha="center", va="center", color="0.4")
