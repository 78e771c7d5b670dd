"""Play every (task, sample) episode of an env with a policy, in a thread pool, and score them as BFCL does.

With ``per_turn=True`` it also plays every checked turn of every task alone, from the ground-truth state after the
turns before it (the env's ``start_turn`` and ``end_turn`` reset options), for per-turn accuracy.

Each worker thread has its own env (``gym.make(env_id, **env_kwargs)``) and its own policy from
``policy_factory()``. Threads suit both slow kinds of policy: an HTTP endpoint waits on the network and a
torch model releases the GIL while it computes; env steps themselves take well under a millisecond.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym

from envtune_gym.envs.factory import env_tasks, make_env, resolve_env_kwargs, select_tasks
from envtune_gym.eval.policies import Policy, PolicyError
from envtune_gym.eval.records import EpisodeRecord
from envtune_gym.eval.report import write_report
from envtune_gym.eval.scores import EvalResult, score_episodes
from envtune_gym.tasks import Task

PolicyFactory = Callable[[], Policy]


def evaluate(
    env_id: str,
    policy_factory: PolicyFactory,
    *,
    env_kwargs: dict[str, Any] | None = None,
    task_ids: Sequence[str] | None = None,
    split: str | None = None,
    limit: int | None = None,
    samples: int = 1,
    workers: int = 4,
    max_steps_per_turn: int = 20,
    progress: bool = True,
    out_dir: str | Path | None = None,
    per_turn: bool = False,
) -> EvalResult:
    """Score a policy on an env's tasks: ``samples`` episodes per task, BFCL's accuracy, pass@k and pass^k.

    Args:
        env_id: a registered id, e.g. ``"EnvTune/BFCL-v0"`` or ``"EnvTune/FileSystem-v0"``.
        policy_factory: makes one policy per worker (called from the worker threads).
        env_kwargs: more ``gym.make`` arguments, e.g. ``{"category": ["base"], "task_source": "bfcl"}``.
        task_ids: play only these tasks, each once (samples weigh a task), in the env's order.
        split: ``"train"`` or ``"test"``, the Environment Tuning split of BFCL's tasks; only for
            ``EnvTune/BFCL-v0`` and for domain envs with ``task_source="bfcl"`` (bundled tasks have no split).
        limit: play only the first ``limit`` tasks (after the other filters).
        samples: episodes per task (the ``n`` of pass@k).
        workers: threads, each with its own env and policy.
        max_steps_per_turn: steps a turn may take without ending it (BFCL: 20).
        progress: show a progress bar on stderr (needs tqdm).
        out_dir: where to write ``trajectories.jsonl``, ``summary.json``, ``summary.md`` and ``accuracy.png``
            (and with ``per_turn``, ``per_turn.jsonl``).
        per_turn: also play each checked turn of each task alone, ``samples`` times, from its ground-truth start
            (the turns before it replayed from their ground truth and shown as history), ending after its
            verdict: per-turn accuracy, by category and by turn index (``result.scores.per_turn``).

    Raises:
        ValueError: for an unknown env id, a split where none applies, unknown task ids, or bad counts.
        FileNotFoundError: when BFCL's tasks are asked for and bfcl-eval is not installed.

    Example:
        >>> from envtune_gym.eval.policies import OraclePolicy
        >>> result = evaluate("EnvTune/Travel-v0", OraclePolicy, limit=3, workers=1, progress=False)
        >>> result.scores.overall.accuracy, len(result.episodes)
        (1.0, 3)
    """
    if samples < 1 or workers < 1 or max_steps_per_turn < 1 or (limit is not None and limit < 1):
        raise ValueError("samples, workers, max_steps_per_turn and limit must be >= 1")
    kwargs = resolve_env_kwargs(env_id, env_kwargs, split, max_steps_per_turn)
    # No ids (None or empty) means every task, as for ``--task`` left out.
    tasks = select_tasks(env_tasks(env_id, kwargs), task_ids or None, limit=limit, as_listed=False)
    started = time.monotonic()
    first = policy_factory()
    jobs = _jobs(tasks, samples, per_turn)
    records = _run_all(env_id, kwargs, tasks, jobs, workers, _PolicyPool(first, policy_factory), progress)
    episodes = [record for record in records if record.end_turn is None]
    turn_episodes = [record for record in records if record.end_turn is not None]
    result = EvalResult(
        env_id=env_id,
        policy=str(getattr(first, "name", type(first).__name__)),
        samples=samples,
        episodes=episodes,
        scores=score_episodes(episodes, samples, turn_episodes if per_turn else None),
        env_kwargs=kwargs,
        seconds=time.monotonic() - started,
        turn_episodes=turn_episodes,
    )
    if out_dir is not None:
        write_report(result, out_dir)
    return result


class _PolicyPool:
    """Gives the first policy (made early, to learn its name) to one worker, new ones to the others."""

    def __init__(self, first: Policy, factory: PolicyFactory) -> None:
        self._spare = [first]
        self._factory = factory
        self._lock = threading.Lock()

    def get(self) -> Policy:
        with self._lock:
            if self._spare:
                return self._spare.pop()
        return self._factory()


class _Job(NamedTuple):
    """One episode to play: a task's sample, whole or (``turn`` given) that turn alone from its GT start."""

    task: Task
    sample: int
    turn: int | None = None


def _jobs(tasks: list[Task], samples: int, per_turn: bool) -> list[_Job]:
    """Every task's samples, then (``per_turn``) every checked turn's samples, each turn alone."""
    jobs = [_Job(task, sample) for task in tasks for sample in range(samples)]
    if per_turn:
        jobs += [
            _Job(task, sample, turn)
            for task in tasks
            for turn in task.checked_turns
            for sample in range(samples)
        ]
    return jobs


def _run_all(
    env_id: str,
    env_kwargs: dict[str, Any],
    tasks: list[Task],
    jobs: list[_Job],
    workers: int,
    policies: _PolicyPool,
    progress: bool,
) -> list[EpisodeRecord]:
    local = threading.local()

    def play(job: _Job) -> EpisodeRecord:
        if not hasattr(local, "env"):
            local.env, local.policy = make_env(env_id, env_kwargs), policies.get()
        if job.turn is None:
            return run_episode(local.env, local.policy, job.task.id, job.sample)
        return run_episode(
            local.env, local.policy, job.task.id, job.sample, start_turn=job.turn, end_turn=job.turn
        )

    records: list[EpisodeRecord] = []
    bar = _progress_bar(len(jobs), progress)
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)), thread_name_prefix="envtune-eval") as pool:
        futures = [pool.submit(play, job) for job in jobs]
        try:
            for future in as_completed(futures):
                records.append(future.result())
                _advance(bar, records)
        except BaseException:
            for future in futures:  # a bug (not a policy failure): stop the rest quickly, then re-raise
                future.cancel()
            raise
        finally:
            if bar is not None:
                bar.close()
    order = {task.id: index for index, task in enumerate(tasks)}
    return sorted(records, key=lambda record: (order[record.task_id], record.start_turn, record.sample))


def run_episode(
    env: gym.Env,
    policy: Policy,
    task_id: str,
    sample: int = 0,
    *,
    start_turn: int = 0,
    end_turn: int | None = None,
) -> EpisodeRecord:
    """Play one episode of ``task_id``; a :class:`PolicyError` ends it as failed, with the message recorded.

    ``start_turn`` and ``end_turn`` (the env's reset options) play turns ``start_turn..end_turn`` only, from the
    ground-truth state after the turns before; ``start_turn=end_turn=k`` scores turn ``k`` alone.

    Example:
        >>> from envtune_gym.eval.policies import OraclePolicy
        >>> env = gym.make("EnvTune/FileSystem-v0")
        >>> record = run_episode(env, OraclePolicy(), "filesystem_base_0")
        >>> record.success, record.finish, record.turns_passed == record.turns_checked
        (True, 'terminated', True)
        >>> record = run_episode(env, OraclePolicy(), "filesystem_base_0", start_turn=1, end_turn=1)
        >>> record.success, record.turns_checked
        (True, 1)
    """
    started = time.monotonic()
    options: dict[str, Any] = {"task_id": task_id}
    if start_turn:
        options["start_turn"] = start_turn
    if end_turn is not None:
        options["end_turn"] = end_turn
    observation, info = env.reset(options=options)
    task = env.unwrapped.task
    record = EpisodeRecord(
        task.id, task.category, list(task.domains), sample, num_turns=task.num_turns,
        start_turn=start_turn, end_turn=end_turn,
    )  # fmt: skip
    try:
        policy.start({"observation": observation, "info": info, "task": task, "sample": sample})
        terminated = truncated = False
        while not (terminated or truncated):  # bounded: the env truncates a turn after max_steps_per_turn
            action = policy.act(observation, info)
            observation, reward, terminated, truncated, info = env.step(action)
            record.reward += float(reward)
            record.steps.append(_step_record(action, observation, info))
            _count_turn(record, info)
        record.success = bool(info.get("success", False))
        record.finish = "terminated" if terminated else "truncated"
    except PolicyError as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        record.finish = "error"
    record.messages = _messages(policy, env)
    record.seconds = round(time.monotonic() - started, 4)
    return record


def _step_record(action: str, observation: str, info: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = {"action": action, "observation": observation, "calls": list(info["calls"])}
    for key in ("action_error", "turn_result"):
        if key in info:
            step[key] = info[key]
    if info.get("new_tools"):
        step["new_tools"] = list(info["new_tools"])
    return step


def _count_turn(record: EpisodeRecord, info: dict[str, Any]) -> None:
    result = info.get("turn_result")
    if result is not None and result["checked"]:
        record.turns_checked += 1
        record.turns_passed += bool(result["passed"])


def _messages(policy: Policy, env: gym.Env) -> list[dict[str, Any]]:
    own = getattr(policy, "messages", None)
    if isinstance(own, list):
        return [dict(message) for message in own]
    return [{"role": role, "content": text} for role, text in env.unwrapped.transcript]


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None  # no bar without tqdm; the summary still prints at the end
    return tqdm(total=total, desc="eval", unit="episode", file=sys.stderr, dynamic_ncols=True)


def _advance(bar: Any, records: list[EpisodeRecord]) -> None:
    if bar is None:
        return
    accuracy = sum(record.success for record in records) / len(records)
    errors = sum(record.error is not None for record in records)
    bar.set_postfix_str(f"success={accuracy:.3f} errors={errors}", refresh=False)
    bar.update(1)
