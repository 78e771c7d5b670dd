"""``envtune serve``: the EnvTune domains over the Model Context Protocol (MCP), one episode per handle.

Over stdio, one process serves one episode; over HTTP, one server serves many, each at
``/episodes/{id}/mcp``, made and ended through a small control API outside the model's tool list
(docs/serve.md). The ``mcp`` SDK is needed only by the modules that speak MCP (the ``serve`` extra:
``pip install "envtune-gym[serve]"``); :mod:`envtune_gym.serve.episodes` and the command's registration
import none of it, and ``import envtune_gym`` imports nothing from this package.
"""
