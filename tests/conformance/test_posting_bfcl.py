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

from typing import Any

import pytest

from envtune_gym.domains.base import ToolError
from envtune_gym.domains.posting import TwitterAPI
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

#: Ground-truth TwitterAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 65, "long_context": 65, "miss_func": 65, "miss_param": 65}


def snapshot(api: Any) -> dict[str, str]:
    """Public state, strictly: the repr of each value, so order and key types (int vs str ids) count."""
    return {key: repr(value) for key, value in bfcl.public_state(api).items()}


def run_ref(reference: Any, tool: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """The reference run with fresh tags/mentions for post_tweet (BFCL shares its default lists)."""
    if tool == "post_tweet":
        bound = DOMAIN.bind(tool, args, kwargs)
        missing = [key for key in ("tags", "mentions") if key not in bound]
        kwargs = {**kwargs, **{key: [] for key in missing}}
    return bfcl.run_reference(reference, tool, args, kwargs)


DOMAIN = bfcl.Conformance("TwitterAPI", TwitterAPI, snapshot=snapshot, run_ref=run_ref)


@pytest.fixture(autouse=True)
def reference_defaults_untouched():
    """Nothing here may leak through BFCL's shared default lists; check they are still empty."""
    yield
    assert bfcl.reference_class("TwitterAPI").post_tweet.__defaults__ == ([], [])


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    # as BFCL runs it: no extra arguments
    compared = bfcl.replay_ground_truth(DOMAIN, category, run_ref=bfcl.run_reference)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=51)


def test_ground_truth_call_count() -> None:
    total = bfcl.ground_truth_call_count(DOMAIN)
    bfcl.assert_call_count(total, sum(EXPECTED_CALLS.values()), at_least=200)


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
    bfcl.run_script(DOMAIN, *QUIRK_SEQUENCES[sequence])


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


class CallMaker(bfcl.RandomCalls):
    """Random, well-typed calls over the ids and names a scenario has, plus wrong and tricky ones."""

    specs = DOMAIN.specs
    weights = dict.fromkeys(("authenticate_twitter", "post_tweet", "mention", "comment"), 3)

    CONTENTS = ["Hello world", "", "Tire pressure is perfect!", "#CarCare day", "ÜBER ✓", "road TRIP"]
    TAG_LISTS = [[], ["#CarCare"], ["#Travel", "#News"], ["#carcare", "#tirehealth"]]
    NAME_LISTS = [[], ["@bob"], ["@alice", "@zed"]]
    USERS = ["alice", "bob", "zed", "", "john", "Alice"]
    KEYWORDS = ["", "car", "#carcare", "#CarCare", "trip", "zzz", "ü", "#travel", "perfect"]

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


SCENARIOS = bfcl.scenarios(
    "TwitterAPI",
    {
        "base": {
            "multi_turn_base_0",  # not authenticated, three tweets
            "multi_turn_base_4",  # a string comment key for a missing tweet
            "multi_turn_base_54",  # counter ahead of the ids
            "multi_turn_base_195",  # comments with user/comment keys, retweets of a missing tweet
        },
        "miss_param": {"multi_turn_miss_param_76"},  # a tweet without a mentions list
    },
    extra=[("defaults", {}), *SYNTHETIC.items()],
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE)
    assert counts["agree_ok"] > 300 and counts["agree_error"] > 30, counts


def test_bfcl_shares_default_lists_but_ours_does_not() -> None:
    """The deliberate difference, shown on both (BFCL's shared default is emptied again afterwards)."""
    defaults = bfcl.reference_class("TwitterAPI").post_tweet.__defaults__
    reference, ours = DOMAIN.pair({"authenticated": True})
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
    reference, ours = DOMAIN.pair({})
    expected, failed = bfcl.run_reference(reference, "post_tweet", ["x"], {"tags": [], "mentions": []})
    assert failed and "User not authenticated" in expected
    with pytest.raises(ToolError) as info:
        ours.post_tweet("x")
    assert "authenticate_twitter" in str(info.value) and str(info.value) not in expected
