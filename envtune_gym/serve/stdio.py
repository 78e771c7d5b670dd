"""``envtune serve ENV_ID --task TASK_ID``: one episode's tools over stdio, for one MCP client process.

The episode is made before anything is served (a bad env id or task id is an error, not a server). The control
actions are the JSON-RPC methods ``envtune/end_turn`` and ``envtune/episode`` on the same connection: not tools,
so no ``tools/list`` shows them to the model (:mod:`envtune_gym.serve.client` sends them). When the client closes
stdin the server ends.

Example:
    $ envtune serve EnvTune/FileSystem-v0 --task filesystem_base_0     # the client starts this as its subprocess
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
from mcp.server import NotificationOptions
from mcp.server.stdio import stdio_server

from envtune_gym.serve.episodes import ServedEpisode
from envtune_gym.serve.mcp_server import LiveEpisode, build_server


async def serve_episode_stdio(live: LiveEpisode) -> None:
    """Serve ``live`` over this process's stdin and stdout until the client closes stdin."""
    server = build_server(lambda ctx: live)
    # Handshake-era clients are told tools/list can change (2026-07-28 clients learn it from subscriptions/listen).
    options = server.create_initialization_options(NotificationOptions(tools_changed=True))
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, options)


def run_stdio(env_id: str, task_id: str, env_kwargs: Mapping[str, Any] | None = None) -> None:
    """Make the episode, then serve it over stdio.

    Raises:
        envtune_gym.serve.episodes.EpisodeError: an unknown env id, argument or task id.
    """
    live = LiveEpisode(ServedEpisode.open(env_id, task_id, env_kwargs))
    try:
        anyio.run(serve_episode_stdio, live)
    finally:
        live.close()
