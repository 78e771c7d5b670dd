"""What the serve tests share: the tasks they replay, the env's own run of a task, an MCP replay, a live server.

The reference is the env itself, stepped with the oracle's one-call JSON actions (no serve code involved); a
replay drives the same ground truth through an MCP client's ``call_tool`` and a control ``end_turn``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import uvicorn

from envtune_gym.envs.factory import make_env
from envtune_gym.serve.http import EpisodeServer
from envtune_gym.tasks.ground_truth import ground_truth_plan
from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE, oracle_actions

#: BFCL's own tasks when bfcl-eval is installed, else the bundled FileSystem ones.
if importlib.util.find_spec("bfcl_eval") is not None:
    ENV_ID, BASE_TASK, MISS_FUNC_TASK = "EnvTune/BFCL-v0", "multi_turn_base_0", "multi_turn_miss_func_0"
else:
    ENV_ID, BASE_TASK, MISS_FUNC_TASK = "EnvTune/FileSystem-v0", "filesystem_base_0", "filesystem_miss_func_0"


@dataclass
class Trace:
    """One run of a task: each call's (result text, failed), each turn's verdict, the tools at each turn's start."""

    results: list[tuple[str, bool]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    tools: list[list[str]] = field(default_factory=list)
    reward: float = 0.0
    success: bool | None = None


def plain(value: Any) -> Any:
    """``value`` through JSON, as a client receives it."""
    return json.loads(json.dumps(value, default=repr))


def reference_run(env_id: str, task_id: str) -> Trace:
    """The env's own run of the task's ground truth, one call per step (the oracle's JSON actions)."""
    env = make_env(env_id)
    _, info = env.reset(options={"task_id": task_id})
    trace = Trace(tools=[[tool["function"]["name"] for tool in info["tools"]]])
    for action in oracle_actions(env.unwrapped.task, "json", one_call_per_step=True):
        _, reward, terminated, truncated, info = env.step(action)
        if "turn_result" in info:
            trace.verdicts.append(plain(info["turn_result"]))
            if not (terminated or truncated):
                trace.tools.append([tool["function"]["name"] for tool in info["tools"]])
        else:
            call = info["calls"][0]
            trace.results.append((call["result"], call["error"] is not None))
    trace.reward, trace.success = float(reward), info.get("success")
    return trace


async def replay(
    client: Any, env_id: str, task_id: str, end_turn: Callable[[str], Awaitable[dict[str, Any]]]
) -> Trace:
    """The task's ground truth through ``client.call_tool``, each turn ended with ``end_turn(reply)``."""
    task = next(task for task in make_env(env_id).unwrapped.tasks if task.id == task_id)
    trace = Trace()
    outcome: dict[str, Any] = {}
    for calls in ground_truth_plan(task).calls:
        trace.tools.append([tool.name for tool in (await client.list_tools()).tools])
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            assert [block.type for block in result.content] == ["text"]
            trace.results.append((result.content[0].text, result.is_error))
        outcome = await end_turn(TURN_DONE if calls else TURN_DECLINED)
        trace.verdicts.append(outcome["turn_result"])
    trace.reward, trace.success = outcome["reward"], outcome["success"]
    return trace


@contextlib.asynccontextmanager
async def serving(server: EpisodeServer) -> AsyncIterator[str]:
    """Run ``server`` with uvicorn in this event loop on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    runner = uvicorn.Server(uvicorn.Config(server.app, log_level="warning", lifespan="on"))
    async with anyio.create_task_group() as group:
        group.start_soon(partial(runner.serve, sockets=[sock]))
        while not runner.started:  # (waits for startup; nothing is timed)
            await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            runner.should_exit = True
