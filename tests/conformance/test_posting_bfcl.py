"""Conformance of :class:`envtune_gym.domains.posting.TwitterAPI` with BFCL's ``TwitterAPI``.

Against the reference package (skipped when it is not installed):

* every ground-truth TwitterAPI call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings must be identical and the states equal after every turn;
* scripted sequences for each quirk, and random call sequences (good and wrong credentials and ids, calls before
  login, repeated retweets and follows, malformed scenario tweets) on several scenarios: when the reference
  succeeds ours returns the same string, when it fails ours raises ToolError and changes nothing, and the states
  stay equal after every call.

BFCL's ``post_tweet`` stores its shared default lists (bfcl-multiturn.md §0.3), so the reference is always given
``tags`` and ``mentions`` explicitly here (fresh lists, the same meaning), while ours often gets them left out.
"""

from __future__ import annotations

import copy
import importlib.metadata
import random
from typing import Any

import pytest

pytest.importorskip(
    "bfcl_eval", reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)

from envtune_gym.domains.base import ToolError  # noqa: E402
from envtune_gym.domains.posting import TwitterAPI  # noqa: E402
from envtune_gym.tools import tool_specs  # noqa: E402
from tests.bfcl_support import (  # noqa: E402
    CATEGORIES,
    load_category,
    parse_call,
    public_state,
    reference_class,
    run_ours,
    run_reference,
)

pytestmark = pytest.mark.bfcl

SPECS = {spec.name: spec for spec in tool_specs(TwitterAPI)}
#: Ground-truth TwitterAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 65, "long_context": 65, "miss_func": 65, "miss_param": 65}
PINNED = importlib.metadata.version("bfcl-eval") == "2026.3.23"


def snapshot(api: Any) -> dict[str, str]:
    """Public state, strictly: the repr of each value, so order and key types (int vs str ids) count."""
    return {key: repr(value) for key, value in public_state(api).items()}


def assert_same_state(ours: TwitterAPI, reference: Any, where: str) -> None:
    assert public_state(ours) == public_state(reference), where  # BFCL's own rule: == on every attribute
    assert snapshot(ours) == snapshot(reference), where


def build_pair(config: dict, long_context: bool = False) -> tuple[Any, TwitterAPI]:
    reference = reference_class("TwitterAPI")()
    reference._load_scenario(copy.deepcopy(config), long_context=long_context)
    ours = TwitterAPI()
    ours.load_scenario(copy.deepcopy(config), long_context=long_context)
    return reference, ours


def reference_arguments(tool: str, args: list, kwargs: dict) -> dict:
    """The keywords for the reference: post_tweet always gets fresh tags/mentions (BFCL shares its defaults)."""
    if tool != "post_tweet":
        return kwargs
    bound = dict(zip(SPECS[tool].param_order, args, strict=False))
    return {**kwargs, **{key: [] for key in ("tags", "mentions") if key not in bound and key not in kwargs}}


@pytest.fixture(autouse=True)
def reference_defaults_untouched():
    """Nothing here may leak through BFCL's shared default lists; check they are still empty."""
    yield
    assert reference_class("TwitterAPI").post_tweet.__defaults__ == ([], [])


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = 0
    for entry, turns in load_category(category, "TwitterAPI"):
        config = entry["initial_config"].get("TwitterAPI", {})
        reference, ours = build_pair(config, long_context=category == "long_context")
        assert_same_state(ours, reference, entry["id"])
        for number, turn in enumerate(turns):
            for call in turn:
                name, args, kwargs = parse_call(call)
                if name not in SPECS:
                    continue  # another class's call
                expected, failed = run_reference(reference, name, args, kwargs)  # as BFCL runs it: no extras
                assert not failed, f"{entry['id']}: the ground truth itself failed: {call} -> {expected}"
                got, _ = run_ours(ours, name, args, kwargs)
                assert got == expected, f"{entry['id']} turn {number}: {call}"
                compared += 1
            assert_same_state(ours, reference, f"{entry['id']} after turn {number}")
    if PINNED:
        assert compared == EXPECTED_CALLS[category], f"compared {compared} GT calls in {category}"
    assert compared > 50, f"compared only {compared} GT calls in {category}"


def test_ground_truth_call_count() -> None:
    total = sum(
        parse_call(call)[0] in SPECS
        for category in CATEGORIES
        for _, turns in load_category(category, "TwitterAPI")
        for turn in turns
        for call in turn
    )
    assert total == (sum(EXPECTED_CALLS.values()) if PINNED else total) and total >= 200, total


# ------------------------------------------------------------------------------------------------------------
# Scripted quirks: each sequence runs on both; results must agree call by call


def _tweet(tweet_id: int, username: str, content: str, tags: list, **extra: Any) -> dict:
    return {"id": tweet_id, "username": username, "content": content, "tags": tags, **extra}


QUIRK_CONFIG = {
    "username": "ann",
    "password": "pw",
    "tweets": {
        "0": _tweet(0, "ann", "Tires checked", ["#CarCare"], mentions=[]),
        "1": _tweet(1, "bob", "Road trip!", ["#Travel", "#carcare"], mentions=["@ann"]),
        "2": _tweet(2, "ann", "No mentions list here", []),
    },
    "comments": {"1": [{"user": "bob", "comment": "first"}]},
    "retweets": {"bob": [0]},
    "following_list": ["bob"],
    "tweet_counter": 2,  # behind the ids: the next post overwrites tweet 2
}

QUIRK_SEQUENCES: dict[str, tuple[dict, list[str]]] = {
    "needs_auth": (
        {},
        [
            "posting_get_login_status()",
            "post_tweet('x')",
            "retweet(0)",
            "comment(0, 'x')",
            "follow_user('zed')",
            "list_all_following()",
            "unfollow_user('alice')",
            "authenticate_twitter('john', 'wrong')",
            "authenticate_twitter('john', 'john123')",
            "authenticate_twitter('john', 'wrong')",
            "posting_get_login_status()",
            "list_all_following()",
        ],
    ),
    "posting_and_reading": (
        {"authenticated": True},
        [
            "post_tweet('Hello #World', ['#Hi'])",
            "post_tweet('second', mentions=['@bob'])",
            "post_tweet('third')",
            "mention(2, ['@zed'])",
            "get_tweet(1)",
            "get_tweet(2)",
            "get_tweet(3)",
            "get_user_tweets('john')",
            "search_tweets('#hi')",
            "search_tweets('hello')",
            "search_tweets('#hello')",
            "get_user_stats('john')",
        ],
    ),
    "comment_keys": (
        QUIRK_CONFIG,
        [
            "get_tweet_comments(1)",
            "authenticate_twitter('ann', 'pw')",
            "comment(1, 'second')",
            "get_tweet_comments(1)",
            "comment(7, 'x')",
            "get_tweet_comments(7)",
        ],
    ),
    "retweets_and_following": (
        QUIRK_CONFIG,
        [
            "mention(1, ['@x'])",
            "authenticate_twitter(username='ann', password='pw')",
            "retweet(0)",
            "retweet(0)",
            "retweet(9)",
            "get_user_stats('ann')",
            "get_user_stats('bob')",
            "follow_user('bob')",
            "follow_user('cy')",
            "unfollow_user('bob')",
            "unfollow_user('bob')",
            "list_all_following()",
        ],
    ),
    "counter_overwrites_and_missing_mentions": (
        QUIRK_CONFIG,
        [
            "mention(2, ['@x'])",
            "search_tweets('CARCARE')",
            "search_tweets('#CARCARE')",
            "authenticate_twitter('ann', 'pw')",
            "post_tweet('overwrite')",
            "get_tweet(2)",
            "mention(2, ['@x', '@y'])",
            "get_user_tweets('ann')",
        ],
    ),
}


@pytest.mark.parametrize("sequence", QUIRK_SEQUENCES)
def test_scripted_quirks_match_bfcl(sequence: str) -> None:
    config, calls = QUIRK_SEQUENCES[sequence]
    reference, ours = build_pair(config)
    for call in calls:
        name, args, kwargs = parse_call(call)
        before = snapshot(ours)
        expected, failed = run_reference(reference, name, args, reference_arguments(name, args, kwargs))
        got, our_failed = run_ours(ours, name, args, kwargs)
        assert our_failed == failed, f"{call}: reference {expected!r}, ours {got!r}"
        if failed:
            assert snapshot(ours) == before, f"{call} failed but changed the state"
        else:
            assert got == expected, call
        assert_same_state(ours, reference, call)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


class CallMaker:
    """Random, well-typed calls over the ids and names a scenario has, plus wrong and tricky ones."""

    CONTENTS = ["Hello world", "", "Tire pressure is perfect!", "#CarCare day", "ÜBER ✓", "road TRIP"]
    TAG_LISTS = [[], ["#CarCare"], ["#Travel", "#News"], ["#carcare", "#tirehealth"]]
    NAME_LISTS = [[], ["@bob"], ["@alice", "@zed"]]
    USERS = ["alice", "bob", "zed", "", "john", "Alice"]
    KEYWORDS = ["", "car", "#carcare", "#CarCare", "trip", "zzz", "ü", "#travel", "perfect"]

    def __init__(self, rng: random.Random, reference: Any) -> None:
        self.rng = rng
        self.reference = reference

    def tweet_id(self) -> int:
        known = list(self.reference.tweets)
        if known and self.rng.random() < 0.6:
            return self.rng.choice(known)
        return self.rng.randint(-1, self.reference.tweet_counter + 2)

    def user(self) -> str:
        ref = self.reference
        known = [ref.username, *ref.following_list, *(t.get("username", "") for t in ref.tweets.values())]
        return self.rng.choice(known if self.rng.random() < 0.6 else self.USERS)

    def arguments(self, tool: str) -> dict[str, Any]:
        rng, ref = self.rng, self.reference
        right = rng.random() < 0.6

        def post() -> dict[str, Any]:
            kwargs: dict[str, Any] = {"content": rng.choice(self.CONTENTS)}
            for key, pool in (("tags", self.TAG_LISTS), ("mentions", self.NAME_LISTS)):
                if rng.random() < 0.5:
                    kwargs[key] = list(rng.choice(pool))
            return kwargs

        makers = {
            "authenticate_twitter": lambda: {
                "username": ref.username if right else rng.choice(["john", "x", ref.username]),
                "password": ref.password if right else rng.choice(["john123", "wrong", ""]),
            },
            "posting_get_login_status": dict,
            "post_tweet": post,
            "retweet": lambda: {"tweet_id": self.tweet_id()},
            "comment": lambda: {"tweet_id": self.tweet_id(), "comment_content": rng.choice(self.CONTENTS)},
            "mention": lambda: {
                "tweet_id": self.tweet_id(),
                "mentioned_usernames": list(rng.choice(self.NAME_LISTS)),
            },
            "follow_user": lambda: {"username_to_follow": self.user()},
            "list_all_following": dict,
            "unfollow_user": lambda: {"username_to_unfollow": self.user()},
            "get_tweet": lambda: {"tweet_id": self.tweet_id()},
            "get_user_tweets": lambda: {"username": self.user()},
            "search_tweets": lambda: {"keyword": rng.choice(self.KEYWORDS)},
            "get_tweet_comments": lambda: {"tweet_id": self.tweet_id()},
            "get_user_stats": lambda: {"username": self.user()},
        }
        return makers[tool]()

    def call(self) -> tuple[str, list, dict]:
        tools = list(SPECS)
        weights = [
            3 if t in ("authenticate_twitter", "post_tweet", "mention", "comment") else 1 for t in tools
        ]
        tool = self.rng.choices(tools, weights)[0]
        kwargs = self.arguments(tool)
        order = SPECS[tool].param_order
        cut = self.rng.randint(0, len([p for p in order if p in kwargs]))  # a prefix by position
        args = []
        for param in order[:cut]:
            if param not in kwargs:
                break
            args.append(kwargs.pop(param))
        return tool, args, kwargs


SEQUENCES, CALLS_PER_SEQUENCE = 30, 40

SYNTHETIC = {
    "quirks": QUIRK_CONFIG,
    "malformed_tweets": {
        "authenticated": True,
        "tweets": {
            "3": {"id": 3, "username": "ann", "content": "car talk", "tags": [7]},  # a tag that is not text
            "5": {"id": 5, "content": "no author", "tags": [], "mentions": []},
        },
        "tweet_counter": 6,
    },
}


def _scenarios() -> list[tuple[str, dict]]:
    wanted = {
        "base": {
            "multi_turn_base_0",  # not authenticated, three tweets
            "multi_turn_base_4",  # a string comment key for a missing tweet
            "multi_turn_base_54",  # counter ahead of the ids
            "multi_turn_base_195",  # comments with user/comment keys, retweets of a missing tweet
        },
        "miss_param": {"multi_turn_miss_param_76"},  # a tweet without a mentions list
    }
    found = [("defaults", {})] + list(SYNTHETIC.items())
    for category, ids in wanted.items():
        found += [
            (entry["id"], entry["initial_config"]["TwitterAPI"])
            for entry, _ in load_category(category, "TwitterAPI")
            if entry["id"] in ids
        ]
    assert len(found) == 8
    return found


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s[0])
def test_random_call_sequences_agree_with_bfcl(scenario: tuple[str, dict]) -> None:
    label, config = scenario
    counts = {"agree_ok": 0, "agree_error": 0}
    for seed in range(SEQUENCES):
        rng = random.Random(f"{label}-{seed}")
        reference, ours = build_pair(config)
        maker = CallMaker(rng, reference)
        for _ in range(CALLS_PER_SEQUENCE):
            tool, args, kwargs = maker.call()
            where = f"{label} seed {seed}: {tool}(*{args!r}, **{kwargs!r})"
            before = snapshot(ours)
            expected, failed = run_reference(reference, tool, args, reference_arguments(tool, args, kwargs))
            got, our_failed = run_ours(ours, tool, args, kwargs)
            assert our_failed == failed, f"{where}: reference {expected!r}, ours {got!r}"
            if failed:
                assert snapshot(ours) == before, f"{where}: a failing call changed the state"
                counts["agree_error"] += 1
            else:
                assert got == expected, where
                counts["agree_ok"] += 1
            assert_same_state(ours, reference, where)
    assert counts["agree_ok"] > 300 and counts["agree_error"] > 30, counts


def test_bfcl_shares_default_lists_but_ours_does_not() -> None:
    """The deliberate difference, shown on both (BFCL's shared default is emptied again afterwards)."""
    defaults = reference_class("TwitterAPI").post_tweet.__defaults__
    reference, ours = build_pair({"authenticated": True})
    try:
        for api in (reference, ours):
            api.post_tweet("first")
            api.mention(0, ["@leak"])
            api.post_tweet("second")
        # BFCL: the later tweet starts with the first one's mention; ours does not
        assert reference.get_tweet(1)["mentions"] == ["@leak"]
        assert ours.get_tweet(1)["mentions"] == []
    finally:
        defaults[1].clear()


def test_failures_raise_tool_error_with_own_text() -> None:
    reference, ours = build_pair({})
    expected, failed = run_reference(reference, "post_tweet", ["x"], {"tags": [], "mentions": []})
    assert failed and "User not authenticated" in expected
    with pytest.raises(ToolError) as info:
        ours.post_tweet("x")
    assert "authenticate_twitter" in str(info.value) and str(info.value) not in expected
