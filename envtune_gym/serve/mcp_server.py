"""The MCP face of a served episode: the env's tools, plus two control methods that are not tools.

:func:`build_server` makes one low-level :class:`mcp.server.Server` whose handlers find their episode with a
``resolve`` function (over stdio: the one episode; over HTTP: the id in the URL path, since the 2026-07-28
protocol has no session to hang state on). It serves:

- ``tools/list``: ``info["tools"]`` as MCP tools (the same names, descriptions and JSON schemas); held-out tools
  join at their turn, announced with ``notifications/tools/list_changed`` on ``subscriptions/listen`` streams
  (and on the connection itself for handshake-era clients);
- ``tools/call``: one env step holding that one call; the result text is ``info["calls"][0]["result"]`` byte for
  byte, ``isError`` when the env's call failed. A tool that is not listed now is a protocol error (``-32602``,
  the env's message), though the env still records the call: BFCL counts it as the model's;
- ``envtune/end_turn`` ``{"reply"?}`` -> the verdict and the next user message, and ``envtune/episode`` -> the
  turn results, reward and done. They are JSON-RPC methods, not tools: no ``tools/list`` shows them, so the
  model cannot end its own turn; the harness sends them (:mod:`envtune_gym.serve.client`).

Example:
    >>> import anyio
    >>> from mcp import Client
    >>> from envtune_gym.serve.episodes import ServedEpisode
    >>> live = LiveEpisode(ServedEpisode.open("EnvTune/FileSystem-v0", "filesystem_base_0"))
    >>> async def first_tool():
    ...     async with Client(build_server(lambda ctx: live)) as client:
    ...         return (await client.list_tools()).tools[0].name
    >>> anyio.run(first_tool)
    'pwd'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CacheHint
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from envtune_gym import __version__
from envtune_gym.serve.episodes import EpisodeError, ServedEpisode
from envtune_gym.tools import thaw

#: The control methods: JSON-RPC requests beside the tools, never listed by ``tools/list``.
END_TURN_METHOD = "envtune/end_turn"
EPISODE_METHOD = "envtune/episode"

INSTRUCTIONS = (
    "The tools of one EnvTune episode (a BFCL multi-turn task). The user's messages and the verdicts come "
    "through the harness's control API; call tools to do what the user asked."
)


class EndTurnParams(types.RequestParams):
    """``envtune/end_turn`` params: the agent's reply to the user (plain text; optional)."""

    reply: str | None = None


class EndTurnRequest(types.Request[EndTurnParams, Literal["envtune/end_turn"]]):
    """End the user turn: the verdict, and the next user message or the episode's result."""

    method: Literal["envtune/end_turn"] = "envtune/end_turn"
    params: EndTurnParams


class EpisodeRequest(types.Request[types.RequestParams, Literal["envtune/episode"]]):
    """Read the episode: turn, verdicts so far, reward, done."""

    method: Literal["envtune/episode"] = "envtune/episode"
    params: types.RequestParams = types.RequestParams()


@dataclass
class LiveEpisode:
    """A :class:`ServedEpisode` with what MCP adds: its tools as MCP tools, and a bus for list-changed events.

    Each episode has its own bus and listen handler, so one episode's events never reach another's listeners.
    """

    episode: ServedEpisode
    bus: InMemorySubscriptionBus = field(default_factory=InMemorySubscriptionBus)
    listen: ListenHandler = field(init=False)
    _tools_from: Sequence[Any] | None = field(default=None, init=False, repr=False)
    _tools: list[types.Tool] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        # Bounded: a few listen streams per episode, each with a short backlog (events are level triggers).
        self.listen = ListenHandler(self.bus, max_subscriptions=8, max_buffered_events=16)

    def tools(self) -> list[types.Tool]:
        """The tools available now as MCP tools (converted again only when the env's list changes)."""
        schemas = self.episode.tools()
        # The env hands out the same frozen list until a turn reveals tools.
        if schemas is not self._tools_from:
            self._tools = mcp_tools(schemas)
            self._tools_from = schemas
        return self._tools

    async def end_turn(self, reply: str | None) -> dict[str, Any]:
        """End the user turn (see :meth:`ServedEpisode.end_turn`); tell listeners when tools appeared."""
        outcome = self.episode.end_turn(reply)
        if outcome["new_tools"]:
            await self.bus.publish(ToolsListChanged())
        return outcome

    def close(self) -> None:
        """End the listen streams and close the env."""
        self.listen.close()
        self.episode.close()


#: Finds the episode a request is for, or raises :class:`EpisodeError`.
Resolver = Callable[[ServerRequestContext[Any, Any]], LiveEpisode]


def mcp_tools(schemas: Sequence[Any]) -> list[types.Tool]:
    """OpenAI-format schemas (``info["tools"]``) as MCP tools: the same name, description and parameters.

    Example:
        >>> tool = mcp_tools([{"type": "function", "function": {"name": "pwd", "description": "Where am I.",
        ...                    "parameters": {"type": "object", "properties": {}, "required": []}}}])[0]
        >>> tool.name, tool.input_schema
        ('pwd', {'type': 'object', 'properties': {}, 'required': []})
    """
    tools = []
    for schema in schemas:
        function = schema["function"]
        tools.append(
            types.Tool(
                name=function["name"],
                description=function["description"],
                input_schema=thaw(function["parameters"]),
            )
        )
    return tools


def protocol_error(error: EpisodeError) -> MCPError:
    """An :class:`EpisodeError` as the JSON-RPC error a client sees."""
    code = {400: types.INVALID_PARAMS, 404: types.INVALID_PARAMS, 409: types.INVALID_REQUEST}
    return MCPError(code.get(error.status, types.INTERNAL_ERROR), error.message)


def build_server(resolve: Resolver) -> Server[Any]:
    """The MCP server of the episodes ``resolve`` finds (one server serves them all; it holds no episode).

    Example:
        >>> server = build_server(lambda ctx: None)
        >>> sorted(method for method in ("tools/list", "tools/call", END_TURN_METHOD, EPISODE_METHOD)
        ...        if server.get_request_handler(method))
        ['envtune/end_turn', 'envtune/episode', 'tools/call', 'tools/list']
    """

    def find(ctx: ServerRequestContext[Any, Any]) -> LiveEpisode:
        try:
            return resolve(ctx)
        except EpisodeError as exc:
            raise protocol_error(exc) from None

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=find(ctx).tools())

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            answer = find(ctx).episode.call(params.name, params.arguments)
        except EpisodeError as exc:
            raise protocol_error(exc) from None
        if answer.error == "unknown_tool":  # MCP: a tool the server does not list is a protocol error
            raise MCPError(types.INVALID_PARAMS, answer.text, {"category": answer.error})
        return types.CallToolResult(
            content=[types.TextContent(text=answer.text)], is_error=answer.error is not None
        )

    async def listen(
        ctx: ServerRequestContext[Any, Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        return await find(ctx).listen(ctx, params)

    async def end_turn(ctx: ServerRequestContext[Any, Any], params: EndTurnParams) -> dict[str, Any]:
        try:
            outcome = await find(ctx).end_turn(params.reply)
        except EpisodeError as exc:
            raise protocol_error(exc) from None
        if outcome["new_tools"] and ctx.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS:
            await ctx.session.send_tool_list_changed()  # (2026-07-28 clients hear it on their listen stream)
        return outcome

    async def episode(ctx: ServerRequestContext[Any, Any], params: types.RequestParams) -> dict[str, Any]:
        return find(ctx).episode.state()

    server: Server[Any] = Server(
        "envtune-gym",
        version=__version__,
        instructions=INSTRUCTIONS,
        # Never cached: the list changes when a turn reveals held-out tools.
        cache_hints={"tools/list": CacheHint(ttl_ms=0)},
        # No tool declares x-mcp-header, so there is no Mcp-Param header to check (and no re-list per call).
        get_tool_input_schema=lambda name: None,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_subscriptions_listen=listen,
    )
    server.add_request_handler(END_TURN_METHOD, EndTurnParams, end_turn)
    server.add_request_handler(EPISODE_METHOD, types.RequestParams, episode)
    return server
