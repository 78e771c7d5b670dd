"""``envtune serve ENV_ID --task TASK_ID`` as a subprocess, with the SDK's stdio client.

The control actions are the JSON-RPC methods ``envtune/end_turn`` and ``envtune/episode`` on the same
connection (never in ``tools/list``); a replay of the ground truth gets the env's verdicts, and a handshake-era
client hears ``notifications/tools/list_changed`` when a held-out tool appears.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")

import anyio  # noqa: E402
import mcp_types as types  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from envtune_gym.serve.client import end_turn, episode_state  # noqa: E402
from tests.serve.support import ENV_ID, MISS_FUNC_TASK, reference_run, replay  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def envtune_serve(*args: str) -> StdioServerParameters:
    """The stdio server as the client's subprocess: ``envtune serve ARGS`` with this interpreter."""
    return StdioServerParameters(
        command=sys.executable, args=["-m", "envtune_gym.cli", "serve", *args], cwd=ROOT
    )


def test_a_stdio_replay_matches_the_env_and_the_control_methods_are_not_tools():
    async def run():
        async with Client(envtune_serve(ENV_ID, "--task", MISS_FUNC_TASK)) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert not {"envtune/end_turn", "envtune/episode", "end_turn"} & names
            before = await episode_state(client)
            trace = await replay(client, ENV_ID, MISS_FUNC_TASK, lambda reply: end_turn(client, reply))
            return before, trace, await episode_state(client)

    before, trace, after = anyio.run(run)
    reference = reference_run(ENV_ID, MISS_FUNC_TASK)
    assert trace == reference
    assert (before["turn"], before["done"], before["task_id"]) == (0, False, MISS_FUNC_TASK)
    assert after["turn_results"] == reference.verdicts and after["done"] and after["success"] is True


def test_a_handshake_era_client_hears_that_the_tool_list_changed():
    reference = reference_run(ENV_ID, MISS_FUNC_TASK)
    reveal_turn = next(turn for turn, names in enumerate(reference.tools) if names != reference.tools[0])
    heard: list[str] = []

    async def note(message) -> None:
        if isinstance(message, types.ServerNotification):
            heard.append(message.method)

    async def run() -> list[str]:
        server = envtune_serve(ENV_ID, "--task", MISS_FUNC_TASK)
        async with Client(server, mode="legacy", message_handler=note) as client:
            assert client.server_capabilities.tools.list_changed is True
            for _ in range(reveal_turn):
                await end_turn(client, "Sorry, I cannot.")
            return [tool.name for tool in (await client.list_tools()).tools]

    assert anyio.run(run) == reference.tools[reveal_turn]
    assert "notifications/tools/list_changed" in heard
