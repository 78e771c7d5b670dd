"""The travel task generator: ids read from earlier results, withheld values, near misses, categories, knobs."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.domains.travel import TravelAPI
from envtune_gym.domains.travel_synth import OPERATIONS, TravelGenerator
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth import Knobs, Synthesizer
from envtune_gym.synth.draft import Draft
from envtune_gym.tasks import CATEGORIES
from envtune_gym.tools import tool_specs
from envtune_gym.wrappers import ProgressReward

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _drafts(count: int, knobs: Knobs | None = None, seed: str = "t") -> list[Draft]:
    generator, knobs = TravelGenerator(), knobs or Knobs()
    drafts = []
    for index in range(count):
        rng = random.Random(f"{seed}/{index}")
        drafts.append(generator.draft(rng, knobs, rng.randint(knobs.min_turns, knobs.max_turns)))
    return drafts


def _replay(draft: Draft, long_context: bool = False) -> list[tuple[TravelAPI, list[str]]]:
    """Per turn, the domain as the turn starts (a copy) and the results of its calls."""
    api = TravelAPI.from_scenario(draft.initial_config["TravelAPI"], long_context=long_context)
    turns = []
    for turn in draft.turns:
        start = api.clone()
        results = [str(getattr(api, call.name)(**call.arguments)) for call in turn.calls]
        turns.append((start, results))
    return turns


def test_every_tool_is_used_and_every_operation_drawn(monkeypatch):
    drawn: Counter[str] = Counter()

    def counting(name: str, operation):  # counts the operations that produced a request (not those skipped)
        def counted(d):
            part = operation(d)
            drawn[name] += 1
            return part

        return counted

    for name, (weight, operation) in list(OPERATIONS.items()):
        monkeypatch.setitem(OPERATIONS, name, (weight, counting(name, operation)))
    drafts = _drafts(300)
    used = Counter(call.name for draft in drafts for turn in draft.turns for call in turn.calls)
    assert set(used) == {spec.name for spec in tool_specs(TravelAPI)}
    assert set(drawn) == set(OPERATIONS) and len(OPERATIONS) >= 10


def test_ids_come_from_earlier_results_not_from_thin_air():
    """A booking id is the user's words only for an earlier booking; else a history read or a booking in the
    task produced it before the call that uses it."""
    from_booking = from_history = 0
    for draft in _drafts(150):
        said = " ".join(turn.request for turn in draft.turns)
        initial = draft.initial_config["TravelAPI"]["booking_record"]
        seen: list[str] = []
        for turn, (_, results) in zip(draft.turns, _replay(draft), strict=True):
            for call, result in zip(turn.calls, results, strict=True):
                booking_id = call.arguments.get("booking_id")
                if booking_id is not None and not (booking_id in initial and booking_id in said):
                    assert booking_id not in said
                    assert any(booking_id in text for text in seen), (call, draft.turns)
                    from_booking += booking_id not in initial
                    from_history += booking_id in initial
                seen.append(result)
        assert draft.depth <= Knobs().max_depth
    assert from_booking > 0 and from_history > 0  # book (or read the history), then use the id


def _shows(text: str, value: object) -> bool:
    """Whether ``text`` gives ``value`` (a number as the grounded gate reads numbers: commas allowed)."""
    if isinstance(value, float):
        plain = (n.replace(",", "") for n in _NUMBER.findall(text))
        return value in {float(n) for n in plain if n[-1:].isdigit()}
    return str(value) in text


def test_withheld_turns_really_withhold_a_value_the_follow_up_gives():
    withheld = 0
    for draft in _drafts(200):
        for turn in (turn for turn in draft.turns if turn.withheld is not None):
            values = [value for call in turn.calls for value in call.arguments.values()]
            vague, supply = turn.withheld.vague, turn.withheld.supply
            gives_value = any(_shows(supply, v) and not _shows(vague, v) for v in values)
            # or which booking: "I mean my 2026-10-05 flight" (its id comes from the history read it needs)
            gives_booking = any(ref.phrase in supply and ref.phrase not in vague for ref in turn.references)
            assert gives_value or gives_booking, (turn.withheld, turn.calls)
            withheld += 1
    assert withheld > 100


def test_near_misses_exist_and_descriptions_pick_one_entity_even_with_padding():
    knobs = Knobs(state_size=10, distractors=4)
    drafts = _drafts(60, knobs)
    generator, references = TravelGenerator(), 0
    for draft in drafts:
        assert (draft.state_size, draft.distractors) == (10, 4)
        config = draft.initial_config["TravelAPI"]
        bookings = list(config["booking_record"].values())
        routes = Counter((b["travel_from"], b["travel_to"]) for b in bookings)
        days = Counter(b["travel_date"] for b in bookings)
        holders = Counter(c["cardholder_name"] for c in config["credit_card_list"].values())
        assert max(routes.values()) > 1 or max(days.values()) > 1 or max(holders.values()) > 1
        for turn, (start, _) in zip(draft.turns, _replay(draft, long_context=True), strict=True):
            for reference in turn.references:
                entities = generator.entities(reference.kind, {"TravelAPI": start})
                assert [name for name in entities if reference.matches(name)] == [reference.chosen]
                references += 1
    assert references > 30


def test_every_category_has_its_shape_and_the_oracle_solves_it():
    synth = Synthesizer("travel", seed=5)
    tasks = list(synth.tasks(16))
    assert [task.category for task in tasks] == list(CATEGORIES) * 4
    for task in tasks:
        env = ProgressReward(ToolUseEnv(tasks=[task]))
        env.reset(options={"task_id": task.id})
        assert sum(float(env.step(action)[1]) for action in oracle_actions(task)) == pytest.approx(1.0), (
            task.id
        )
    by_category = {task.category: task for task in tasks}
    assert by_category["miss_func"].held_out and "" in by_category["miss_func"].turns
    assert [] in by_category["miss_param"].ground_truth
    assert by_category["long_context"].long_context
    assert synth.stats.redraw_rate < 0.5


def test_knobs_are_honoured():
    knobs = Knobs(min_turns=3, max_turns=3, max_calls_per_turn=1, max_depth=0, state_size=3, distractors=1)
    for draft in _drafts(80, knobs):
        assert len(draft.turns) == 3 and all(len(turn.calls) == 1 for turn in draft.turns)
        assert draft.depth == 0 and (draft.state_size, draft.distractors) == (3, 1)
        config = draft.initial_config["TravelAPI"]
        assert len(config["credit_card_list"]) + len(config["booking_record"]) == 3
        assert config["access_token"] is not None  # logging in would make every token call depth 1
    deep = _drafts(200, Knobs(max_calls_per_turn=6, max_depth=4))
    assert max(draft.depth for draft in deep) >= 2
    assert max(len(turn.calls) for draft in deep for turn in draft.turns) >= 4


def test_a_logged_out_task_logs_in_before_its_first_token_call():
    logged_out = [d for d in _drafts(150) if d.initial_config["TravelAPI"]["access_token"] is None]
    assert logged_out
    for draft in logged_out:
        calls = [call for turn in draft.turns for call in turn.calls]
        needing = [i for i, call in enumerate(calls) if "access_token" in call.arguments]
        if needing:
            assert "authenticate_travel" in [call.name for call in calls[: needing[0]]]
            token = calls[needing[0]].arguments["access_token"]
            assert all(token not in turn.request for turn in draft.turns)  # it comes from the login's result


def test_tasks_are_deterministic_and_distinct():
    first, again = list(Synthesizer("travel", 2).tasks(30)), list(Synthesizer("travel", 2).tasks(30))
    assert first == again
    keys = {(tuple(t.turns), str(t.ground_truth), str(t.initial_config)) for t in first}
    assert len(keys) == len(first)


def test_no_user_turn_is_one_of_bfcl_s():
    pytest.importorskip("bfcl_eval")
    from tests.bfcl_support import load_category

    bfcl = {
        message["content"]
        for category in ("base", "miss_param")
        for entry, _ in load_category(category, "TravelAPI")
        for turn in entry["question"]
        for message in turn
    }
    ours = {turn.request for draft in _drafts(300) for turn in draft.turns}
    assert not ours & bfcl
