"""The domain registry: what the package's domains register, and the registrations it refuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import envtune_gym
from envtune_gym.domains import (
    DOMAINS,
    Domain,
    domain_class,
    domain_spec,
    register_domain,
    registered_domains,
    unregister_domain,
)
from envtune_gym.domains.filesystem import FileSystem


class Probe(Domain):
    """A domain that exists only in these tests."""

    name = "ProbeAPI"

    def load_scenario(self, config: dict, long_context: bool = False) -> None:
        self.value = config.get("value", 0)


@pytest.fixture
def cleanup() -> Iterator[None]:
    yield
    if "ProbeAPI" in DOMAINS:
        unregister_domain("ProbeAPI")
    envtune_gym.register_envs()


def test_the_package_registers_its_eight_domains_in_order() -> None:
    assert list(DOMAINS) == [
        "GorillaFileSystem", "MessageAPI", "TwitterAPI", "TradingBot", "TravelAPI", "VehicleControlAPI",
        "TicketAPI", "MathAPI",
    ]  # fmt: skip
    assert DOMAINS["GorillaFileSystem"] == "envtune_gym.domains.filesystem:FileSystem"
    assert all(domain_class(name).name == name for name in DOMAINS)


def test_env_ids_come_from_the_registrations() -> None:
    own = {spec.env_id: {"tasks": spec.task_set} for spec in registered_domains() if spec.env_id}
    assert envtune_gym.ENV_IDS == {**own, "EnvTune/BFCL-v0": {"tasks": "bfcl"}}
    assert list(envtune_gym.ENV_IDS) == [
        "EnvTune/FileSystem-v0", "EnvTune/Messaging-v0", "EnvTune/Trading-v0", "EnvTune/Travel-v0",
        "EnvTune/BFCL-v0",
    ]  # fmt: skip


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known domains: GorillaFileSystem, MessageAPI"):
        domain_class("Nope")


def test_registering_the_same_class_again_replaces_it(cleanup: None) -> None:
    register_domain(Probe, order=5)
    register_domain(Probe)  # a reloaded module registers again
    assert [spec.name for spec in registered_domains()][-1] == "ProbeAPI"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env_id": "EnvTune/Probe-v0"}, "env_id and task_set together"),
        ({"task_set": "probe"}, "env_id and task_set together"),
        ({"env_id": "EnvTune/FileSystem-v0", "task_set": "probe"}, "already taken by GorillaFileSystem"),
        ({"env_id": "EnvTune/Probe-v0", "task_set": "trading"}, "already taken by TradingBot"),
    ],
)
def test_clashing_or_partial_registrations_are_refused(cleanup: None, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        register_domain(Probe, **kwargs)
    assert "ProbeAPI" not in DOMAINS


def test_another_class_cannot_take_a_registered_name(cleanup: None) -> None:
    impostor = type("FileSystem", (Probe,), {"name": "GorillaFileSystem"})
    with pytest.raises(ValueError, match="already registered by envtune_gym.domains.filesystem:FileSystem"):
        register_domain(impostor)
    assert domain_spec("GorillaFileSystem").cls is FileSystem


def test_the_bfcl_id_is_reserved(cleanup: None) -> None:
    register_domain(Probe, env_id="EnvTune/BFCL-v0", task_set="probe")
    with pytest.raises(ValueError, match="reserved"):
        envtune_gym.register_envs()


def test_long_context_padding_is_read_once_per_class() -> None:
    padding = FileSystem.long_context_padding()
    assert padding is FileSystem.long_context_padding() and len(padding.images) == 30
    with pytest.raises(ValueError, match="no long-context padding"):
        Probe.long_context_padding()
