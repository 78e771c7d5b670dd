"""``envtune serve``: registration and argument checks. Imports no ``mcp``: the serving modules load when it runs.

Example:
    $ envtune serve EnvTune/FileSystem-v0 --task filesystem_base_0       # one episode over stdio
    $ envtune serve EnvTune/BFCL-v0 --http --port 8765                    # many, at /episodes/{id}/mcp
    $ envtune serve EnvTune/BFCL-v0 --http --max-episodes 16 --idle-timeout 300 --env-kwargs '{"split": "test"}'
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from typing import Any

from envtune_gym.cli_support import check_env
from envtune_gym.serve.episodes import EpisodeError, ServeLimits

#: The modules the ``serve`` extra brings; without one of them the command says how to install it.
REQUIRED_MODULES: tuple[str, ...] = ("mcp", "starlette", "uvicorn")
INSTALL_HINT = 'pip install "envtune-gym[serve]"'
_LIMIT_FLAGS = {
    "max_episodes": "--max-episodes",
    "idle_timeout_s": "--idle-timeout",
    "max_body_bytes": "--max-body-bytes",
}


def add_serve_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``serve`` on the ``envtune`` parser."""
    serve = commands.add_parser(
        "serve",
        help="serve an env's tools over MCP: one episode over stdio, or many over HTTP (--http)",
        description="Serve EnvTune episodes over the Model Context Protocol (docs/serve.md).",
    )
    serve.add_argument("env_id", metavar="ENV_ID", help="env id, e.g. EnvTune/BFCL-v0 (see envtune list)")
    serve.add_argument(
        "--task", metavar="TASK_ID", help="stdio: the episode's task (required without --http)"
    )
    serve.add_argument("--http", action="store_true", help="serve many episodes over HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8765, help="HTTP port, 0 for a free one (default: %(default)s)"
    )
    serve.add_argument(
        "--env-kwargs", metavar="JSON", help='env arguments for every episode, e.g. \'{"split": "test"}\''
    )
    defaults = ServeLimits()
    serve.add_argument(
        "--max-episodes",
        type=int,
        default=defaults.max_episodes,
        help="HTTP: episodes open at once (default: %(default)s)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=defaults.idle_timeout_s,
        metavar="SECONDS",
        help="HTTP: close an episode unused this long (default: %(default)s)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=defaults.max_body_bytes,
        help="HTTP: refuse larger request bodies (default: %(default)s)",
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    try:
        env_kwargs = _checked(args)
    except ValueError as exc:
        return _fail(str(exc))
    missing = missing_modules()
    if missing:
        return _fail(f"needs the serve extra ({', '.join(missing)} missing): {INSTALL_HINT}")
    try:
        if args.http:
            from envtune_gym.serve.http import run_http

            limits = ServeLimits(args.max_episodes, args.idle_timeout, args.max_body_bytes)
            run_http(args.env_id, args.host, args.port, limits, env_kwargs)
        else:
            from envtune_gym.serve.stdio import run_stdio

            run_stdio(args.env_id, args.task, env_kwargs)
    except EpisodeError as exc:
        return _fail(exc.message)
    except OSError as exc:  # the address is taken or not ours
        return _fail(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return 0
    return 0


def _checked(args: argparse.Namespace) -> dict[str, Any]:
    """The env arguments, after refusing bad input (one-line ``ValueError``) before anything is served."""
    if args.http and args.task:
        raise ValueError("--task is for stdio; over HTTP each POST /episodes names its task_id")
    if not args.http and not args.task:
        raise ValueError("stdio serves one episode: give --task TASK_ID (or --http for many)")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535, got {args.port}")
    try:
        ServeLimits(args.max_episodes, args.idle_timeout, args.max_body_bytes)
    except ValueError as exc:  # name the flag, not the field
        message = str(exc)
        for field, flag in _LIMIT_FLAGS.items():
            message = message.replace(f"ServeLimits.{field}", flag)
        raise ValueError(message) from None
    env_kwargs: Any = {}
    if args.env_kwargs:
        try:
            env_kwargs = json.loads(args.env_kwargs)
        except ValueError as exc:
            raise ValueError(f"--env-kwargs is not JSON: {exc}") from None
        if not isinstance(env_kwargs, dict):
            raise ValueError("--env-kwargs must be a JSON object")
    check_env(args.env_id, env_kwargs)
    return env_kwargs


def missing_modules() -> list[str]:
    """The modules of :data:`REQUIRED_MODULES` that are not installed.

    Example:
        >>> set(missing_modules()) <= set(REQUIRED_MODULES)
        True
    """
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def _fail(message: str) -> int:
    print(f"envtune serve: {' '.join(message.split())}", file=sys.stderr)
    return 2
