"""``envtune serve --http``: many episodes at once, each at ``/episodes/{id}/mcp``, and the control API beside them.

The control API (JSON in, JSON out; errors are ``{"error": "..."}`` with an HTTP status):

- ``POST /episodes`` ``{"task_id", "env_id"?, "env_kwargs"?, "start_turn"?}`` -> 201 ``{"id", "mcp_path", ...the episode}``;
- ``GET /episodes/{id}`` -> the episode: ``turn``, ``user_message``, ``tools``, ``turn_results``, ``done``,
  ``truncated``, ``reward``, ``success``;
- ``POST /episodes/{id}/end_turn`` ``{"reply"?}`` -> the verdict, the next user message (or ``null``), new tools;
- ``DELETE /episodes/{id}`` -> the episode as it ended; its id then answers 404.

``/episodes/{id}/mcp`` is a Streamable HTTP MCP endpoint (2026-07-28 requests, and handshake-era clients served
statelessly); the episode is the id in its path. Bounds (:class:`~envtune_gym.serve.episodes.ServeLimits`):
episodes open at once (503 beyond), idle expiry (the id answers 404 after), request body size (413 beyond, before
parsing). Each episode is its own env; episodes share only read-only task data. On a loopback ``host`` the
``Host`` and ``Origin`` headers are checked (DNS rebinding), on every route.

Example:
    >>> server = EpisodeServer("EnvTune/FileSystem-v0", ServeLimits(max_episodes=2))
    >>> episode_id = server.create({"task_id": "filesystem_base_0"})["id"]
    >>> server.table.get(episode_id).episode.call("pwd", {}).error is None
    True
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
import uvicorn
from mcp.server import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import (
    RequestBodyLimitMiddleware,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from envtune_gym.serve.episodes import (
    EpisodeError,
    EpisodeTable,
    ServedEpisode,
    ServeLimits,
    client_env_kwargs,
)
from envtune_gym.serve.mcp_server import LiveEpisode, build_server

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class EpisodeServer:
    """The HTTP server's state and its ASGI app (``server.app``); ``clock`` is injectable for expiry tests.

    Args:
        env_id: the env an episode runs when ``POST /episodes`` names none.
        limits: the bounds.
        env_kwargs: the operator's env arguments, for every episode (clients may add a few: see
            :func:`~envtune_gym.serve.episodes.client_env_kwargs`).
        host: the address served; on a loopback one the ``Host`` and ``Origin`` headers are checked.
        clock: seconds, for idle expiry (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        env_id: str,
        limits: ServeLimits | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.env_id = env_id
        self.limits = limits or ServeLimits()
        self.env_kwargs = dict(env_kwargs or {})
        self.table: EpisodeTable[LiveEpisode] = EpisodeTable(self.limits, LiveEpisode.close, clock)
        self.security = TransportSecurityMiddleware(_security_settings(host))
        self.manager = StreamableHTTPSessionManager(
            build_server(self._resolve),
            stateless=True,  # the episode is the URL's; nothing is kept per connection
            security_settings=self.security.settings,
            max_request_body_size=self.limits.max_body_bytes,
        )
        self.app = RequestBodyLimitMiddleware(self._starlette(), self.limits.max_body_bytes)

    # -- the actions, shared by the routes (and callable directly) ---------------------------------------------

    def create(self, body: Any) -> dict[str, Any]:
        """``POST /episodes``: make an episode; its id, MCP path and state.

        Raises:
            EpisodeError: a bad body (400), an unknown env or task (400), no room (503).
        """
        if not isinstance(body, dict):
            raise EpisodeError(
                400,
                'the body must be a JSON object: {"task_id": ..., "env_id"?, "env_kwargs"?, "start_turn"?}',
            )
        env_id = body.get("env_id", self.env_id)
        if not isinstance(env_id, str):
            raise EpisodeError(400, "env_id must be a string (an EnvTune id, see envtune list)")
        env_kwargs = client_env_kwargs(self.env_kwargs, body.get("env_kwargs"))
        self.table.require_room()  # before making the env: a full server refuses cheaply
        live = LiveEpisode(
            ServedEpisode.open(env_id, body.get("task_id"), env_kwargs, body.get("start_turn", 0))
        )
        episode_id = self.table.add(live)
        return {"id": episode_id, "mcp_path": f"/episodes/{episode_id}/mcp", **live.episode.state()}

    # -- ASGI -------------------------------------------------------------------------------------------------------

    def _resolve(self, ctx: ServerRequestContext[Any, Any]) -> LiveEpisode:
        request = ctx.request
        if not isinstance(request, Request) or "episode_id" not in request.path_params:
            raise EpisodeError(400, "no episode: use the path /episodes/{id}/mcp")
        return self.table.get(request.path_params["episode_id"])

    def _starlette(self) -> Starlette:
        routes = [
            Route("/episodes", self._create_route, methods=["POST"]),
            Route("/episodes/{episode_id}", self._episode_route, methods=["GET", "DELETE"]),
            Route("/episodes/{episode_id}/end_turn", self._end_turn_route, methods=["POST"]),
            Route("/episodes/{episode_id}/mcp", _EpisodeMCP(self)),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        async with self.manager.run(), anyio.create_task_group() as group:
            group.start_soon(self._sweep_forever)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
                self.table.close_all()

    async def _sweep_forever(self) -> None:
        # Expiry is also checked on every request; this frees idle envs when no request comes at all.
        while True:
            await anyio.sleep(min(self.limits.idle_timeout_s, 60.0))
            self.table.sweep()

    async def _create_route(self, request: Request) -> Response:
        async def create(body: Any) -> tuple[dict[str, Any], int]:
            return self.create(body), 201

        return await self._answer(request, create)

    async def _episode_route(self, request: Request) -> Response:
        episode_id = request.path_params["episode_id"]

        async def read_or_end(_: Any) -> tuple[dict[str, Any], int]:
            state = self.table.get(episode_id).episode.state()  # (read before closing: as the episode stood)
            if request.method == "DELETE":
                self.table.remove(episode_id)
            return state, 200

        return await self._answer(request, read_or_end)

    async def _end_turn_route(self, request: Request) -> Response:
        episode_id = request.path_params["episode_id"]

        async def end_turn(body: Any) -> tuple[dict[str, Any], int]:
            if not isinstance(body, dict):
                raise EpisodeError(400, 'the body must be a JSON object: {"reply"?: "..."}')
            return await self.table.get(episode_id).end_turn(body.get("reply")), 200

        return await self._answer(request, end_turn)

    async def _answer(
        self, request: Request, action: Callable[[Any], Awaitable[tuple[dict[str, Any], int]]]
    ) -> Response:
        """Check the headers, read a POST's JSON body, run ``action``; its result or error as JSON."""
        refused = await self.security.validate_request(request, is_post=request.method == "POST")
        if refused is not None:
            return refused
        body: Any = None
        if request.method == "POST":
            body = await _read_json(request)
            if isinstance(body, Response):
                return body
        try:
            result, status = await action(body)
        except EpisodeError as exc:
            return _error(exc)
        return JSONResponse(result, status_code=status)


class _EpisodeMCP:
    """The MCP endpoint, answering 404 (plain HTTP) for an episode that does not exist before MCP parses anything."""

    def __init__(self, server: EpisodeServer) -> None:
        self.server = server
        self.mcp = StreamableHTTPASGIApp(server.manager)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self.server.table.get(scope["path_params"]["episode_id"])  # (marks it used)
        except EpisodeError as exc:
            await _error(exc)(scope, receive, send)
            return
        await self.mcp(scope, receive, send)


def run_http(
    env_id: str, host: str, port: int, limits: ServeLimits, env_kwargs: Mapping[str, Any] | None = None
) -> None:
    """Serve until interrupted; prints the URL (with the real port when ``port`` is 0) to stderr.

    Raises:
        OSError: the address cannot be bound.
    """
    server = EpisodeServer(env_id, limits, env_kwargs, host=host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # listening before the URL is printed: a client that reads it can connect at once
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(
        f"envtune serve: http://{shown}:{sock.getsockname()[1]} (POST /episodes to start one)",
        file=sys.stderr,
    )
    sys.stderr.flush()
    config = uvicorn.Config(server.app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def _security_settings(host: str) -> TransportSecuritySettings:
    if host not in _LOOPBACK:  # served beyond this machine: the operator decides who may reach it
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


async def _read_json(request: Request) -> Any:
    """The request's JSON body (an empty body is ``{}``), or a 400 response saying what is wrong."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return _error(EpisodeError(400, f"the body is not JSON: {' '.join(str(exc).split())[:200]}"))


def _error(error: EpisodeError) -> JSONResponse:
    return JSONResponse({"error": error.message}, status_code=error.status)
