"""The harness's side of the control methods, for an :class:`mcp.Client` connected to ``envtune serve``.

``envtune/end_turn`` and ``envtune/episode`` are JSON-RPC requests beside the tools (no ``tools/list`` shows
them); these two functions send them with the SDK's own session. Over HTTP the same actions are also plain HTTP
routes (``POST /episodes/{id}/end_turn``, ``GET /episodes/{id}``: docs/serve.md).

Example:
    >>> import anyio
    >>> from mcp import Client
    >>> from envtune_gym.serve.episodes import ServedEpisode
    >>> from envtune_gym.serve.mcp_server import LiveEpisode, build_server
    >>> live = LiveEpisode(ServedEpisode.open("EnvTune/FileSystem-v0", "filesystem_base_0"))
    >>> async def one_turn():
    ...     async with Client(build_server(lambda ctx: live)) as client:
    ...         await client.call_tool("pwd", {})
    ...         outcome = await end_turn(client, "I am in /priya.")
    ...         return outcome["turn_result"]["passed"], (await episode_state(client))["turn"]
    >>> anyio.run(one_turn)
    (True, 1)
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp import Client
from pydantic import ConfigDict

from envtune_gym.serve.mcp_server import EndTurnParams, EndTurnRequest, EpisodeRequest

#: Keys the protocol adds to every result; not part of the episode's answer.
_PROTOCOL_KEYS = ("_meta", "resultType")


class _ControlResult(types.Result):
    """A control method's result: plain JSON fields, kept as sent."""

    model_config = ConfigDict(extra="allow")


async def end_turn(client: Client, reply: str | None = None) -> dict[str, Any]:
    """End the user turn: ``turn_result``, ``user_message`` (``None`` when done), ``new_tools``, ``done``,
    ``truncated``, ``reward``, ``success``.

    Raises:
        mcp.shared.exceptions.MCPError: the episode is over, or ``reply`` holds tool calls.
    """
    request = EndTurnRequest(params=EndTurnParams(reply=reply))
    return _fields(await client.session.send_request(request, _ControlResult))


async def episode_state(client: Client) -> dict[str, Any]:
    """The episode: ``task_id``, ``turn``, ``num_turns``, ``user_message``, ``tools``, ``turn_results``,
    ``done``, ``truncated``, ``reward``, ``success``."""
    return _fields(await client.session.send_request(EpisodeRequest(), _ControlResult))


def _fields(result: types.Result) -> dict[str, Any]:
    data = result.model_dump(mode="json", by_alias=True)
    for key in _PROTOCOL_KEYS:
        data.pop(key, None)
    return data
