"""``envtune serve --http`` with the SDK's Streamable HTTP client against a live in-process server (uvicorn).

Episodes live at ``/episodes/{id}/mcp`` and are made, ended and read through the control API; the replays get
the env's own verdicts, two episodes never see each other's state, the bounds hold (an injected clock moves
time), and malformed requests get HTTP or JSON-RPC errors while the server lives on.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mcp")

import anyio  # noqa: E402
import httpx2  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from mcp.shared.subscriptions import ToolsListChanged  # noqa: E402

from envtune_gym.serve.client import end_turn  # noqa: E402
from envtune_gym.serve.episodes import ServeLimits  # noqa: E402
from envtune_gym.serve.http import EpisodeServer  # noqa: E402
from tests.serve.support import BASE_TASK, ENV_ID, MISS_FUNC_TASK, reference_run, replay, serving  # noqa: E402

FS = "EnvTune/FileSystem-v0"
#: The headers a 2026-07-28 MCP request carries (for the hand-made malformed ones).
MCP_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2026-07-28",
}


async def create(http: httpx2.AsyncClient, task_id: str, **body) -> dict:
    response = await http.post("/episodes", json={"task_id": task_id, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_replays_over_http_match_the_env_and_the_control_api_reads_them():
    server = EpisodeServer(ENV_ID)

    async def run() -> dict:
        traces = {}
        async with serving(server) as url, httpx2.AsyncClient(base_url=url) as http:
            for task_id in (BASE_TASK, MISS_FUNC_TASK):
                episode = await create(http, task_id)
                assert episode["turn"] == 0 and episode["user_message"] and not episode["done"]

                async def end(reply: str, episode_id: str = episode["id"]) -> dict:
                    response = await http.post(f"/episodes/{episode_id}/end_turn", json={"reply": reply})
                    assert response.status_code == 200, response.text
                    return response.json()

                async with Client(url + episode["mcp_path"]) as client:
                    traces[task_id] = await replay(client, ENV_ID, task_id, end)
                state = (await http.get(f"/episodes/{episode['id']}")).json()
                assert state["turn_results"] == traces[task_id].verdicts
                assert (state["done"], state["reward"], state["success"]) == (True, 1.0, True)
                assert (await http.delete(f"/episodes/{episode['id']}")).status_code == 200
                assert (await http.get(f"/episodes/{episode['id']}")).status_code == 404
        return traces

    traces = anyio.run(run)
    for task_id, trace in traces.items():
        assert trace == reference_run(ENV_ID, task_id)
    assert len(server.table) == 0


def test_a_held_out_tool_is_announced_on_the_listen_stream():
    server = EpisodeServer(ENV_ID)
    reference = reference_run(ENV_ID, MISS_FUNC_TASK)
    reveal_turn = next(turn for turn, names in enumerate(reference.tools) if names != reference.tools[0])

    async def run() -> list[str]:
        async with serving(server) as url, httpx2.AsyncClient(base_url=url) as http:
            episode = await create(http, MISS_FUNC_TASK)
            async with Client(url + episode["mcp_path"]) as client:
                async with client.listen(tools_list_changed=True) as events:
                    for _ in range(reveal_turn):  # the MCP control method ends the turns this time
                        outcome = await end_turn(client, "Sorry, I cannot.")
                    assert outcome["new_tools"]
                    with anyio.fail_after(30):  # (a hang guard, not a timing check)
                        event = await events.__anext__()
                    assert event == ToolsListChanged()
                return [tool.name for tool in (await client.list_tools()).tools]

    assert anyio.run(run) == reference.tools[reveal_turn]


def test_two_concurrent_episodes_never_see_each_others_state():
    server = EpisodeServer(FS)
    writes = [
        ("mkdir", {"dir_name": "alpha"}),
        ("cd", {"folder": "alpha"}),
        ("touch", {"file_name": "a.txt"}),
    ]
    reads = [("pwd", {}), ("ls", {"a": True}), ("find", {"path": ".", "name": "a.txt"})]

    async def run() -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        async with serving(server) as url, httpx2.AsyncClient(base_url=url) as http:
            first, second = await create(http, "filesystem_base_0"), await create(http, "filesystem_base_0")

            async def drive(name: str, path: str, calls: list) -> None:
                async with Client(url + path) as client:
                    seen[name] = []
                    for tool, arguments in calls:
                        seen[name].append((await client.call_tool(tool, arguments)).content[0].text)
                        await anyio.sleep(0)  # let the other episode's call in between

            async with anyio.create_task_group() as group:
                group.start_soon(drive, "writer", first["mcp_path"], writes + reads)
                group.start_soon(drive, "reader", second["mcp_path"], reads + reads)
        return seen

    seen = anyio.run(run)
    alone = EpisodeServer(FS)
    episode = alone.table.get(alone.create({"task_id": "filesystem_base_0"})["id"]).episode
    assert seen["reader"] == [episode.call(tool, arguments).text for tool, arguments in reads + reads]
    assert seen["reader"][:3] == seen["reader"][3:]  # the writer's directory never appeared
    assert "alpha" in seen["writer"][3] and "alpha" not in seen["reader"][0]


def test_bounds_over_http_episodes_body_size_and_idle_expiry():
    now = [0.0]
    server = EpisodeServer(
        FS, ServeLimits(max_episodes=2, idle_timeout_s=60, max_body_bytes=4096), clock=lambda: now[0]
    )

    async def run() -> None:
        async with serving(server) as url, httpx2.AsyncClient(base_url=url) as http:
            first = await create(http, "filesystem_base_0")
            await create(http, "filesystem_base_1")
            full = await http.post("/episodes", json={"task_id": "filesystem_base_2"})
            assert full.status_code == 503 and "2 episodes are open" in full.json()["error"]
            big = {"task_id": "filesystem_base_2", "pad": "x" * 5000}
            assert (await http.post("/episodes", json=big)).status_code == 413
            call = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"content": "x" * 5000, "file_name": "a"}},
            }
            oversize = await http.post(first["mcp_path"], content=json.dumps(call), headers=MCP_HEADERS)
            assert oversize.status_code == 413
            now[0] = 30.0
            assert (await http.get(f"/episodes/{first['id']}")).status_code == 200  # used at 30
            now[0] = 61.0  # the second expired (idle since 0); the first has 29 s left
            assert (await http.post("/episodes", json={"task_id": "filesystem_base_2"})).status_code == 201
            now[0] = 91.0
            assert (await http.get(f"/episodes/{first['id']}")).status_code == 404
            small = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
            assert (await http.post(first["mcp_path"], json=small, headers=MCP_HEADERS)).status_code == 404
            assert len(server.table) == 1  # the one made at 61

    anyio.run(run)


def test_malformed_requests_get_errors_and_the_server_lives_on():
    server = EpisodeServer(FS)

    async def run() -> None:
        async with serving(server) as url, httpx2.AsyncClient(base_url=url) as http:
            episode = await create(http, "filesystem_base_0")
            path = episode["mcp_path"]
            for body, status in (
                ("{not json", 400),
                ("[1, 2]", 400),
                ('{"env_id": 5, "task_id": "x"}', 400),
                ('{"task_id": "nope"}', 400),
                ('{"task_id": "x", "env_kwargs": {"tasks": "a"}}', 400),
            ):
                response = await http.post(
                    "/episodes", content=body, headers={"content-type": "application/json"}
                )
                assert response.status_code == status and "error" in response.json(), body
            assert (await http.get("/episodes/nope")).status_code == 404
            assert (await http.post("/episodes/nope/end_turn", json={})).status_code == 404
            assert (await http.post("/episodes/nope/mcp", json={}, headers=MCP_HEADERS)).status_code == 404
            reply = await http.post(f"/episodes/{episode['id']}/end_turn", json={"reply": "[pwd()]"})
            assert reply.status_code == 400 and "does not end the turn" in reply.json()["error"]
            bad_json = await http.post(path, content="{oops", headers=MCP_HEADERS)
            assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == -32700
            not_object = {
                "jsonrpc": "2.0",
                "id": 7,
                "method": "tools/call",
                "params": {"name": "ls", "arguments": "x"},
            }
            refused = (await http.post(path, json=not_object, headers=MCP_HEADERS)).json()
            assert refused["id"] == 7 and refused["error"]["code"] == -32602
            async with Client(url + path) as client:
                with pytest.raises(MCPError) as unknown:
                    await client.call_tool("no_such_tool", {})
                assert unknown.value.code == -32602
                wrong = await client.call_tool("cd", {"folder": 5})
                same_call = server.table.get(episode["id"]).episode.call("cd", {"folder": 5})
                assert wrong.is_error and wrong.content[0].text == same_call.text
                pwd = await client.call_tool("pwd", {})
                assert pwd.content[0].text == '{"current_working_directory": "/priya"}'
            assert (await http.get(f"/episodes/{episode['id']}")).json()["step_in_turn"] == 4

    anyio.run(run)
