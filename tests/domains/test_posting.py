"""Unit tests of the TwitterAPI re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from envtune_gym.domains import domain_class
from envtune_gym.domains import posting as postmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.posting import DEFAULT_STATE, TwitterAPI
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

BFCL_SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
NO_BFCL = "needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
BFCL_ORDER = [
    "authenticate_twitter", "posting_get_login_status", "post_tweet", "retweet", "comment", "mention",
    "follow_user", "list_all_following", "unfollow_user", "get_tweet", "get_user_tweets", "search_tweets",
    "get_tweet_comments", "get_user_stats",
]  # fmt: skip
STATE_KEYS = {
    "username", "password", "authenticated", "tweets", "comments", "retweets", "following_list", "tweet_counter",
}  # fmt: skip


def _tweet(tweet_id: int, username: str, content: str, tags: list, mentions: list) -> dict:
    return {"id": tweet_id, "username": username, "content": content, "tags": tags, "mentions": mentions}


CONFIG = {
    "username": "ann",
    "password": "pw",
    "authenticated": True,
    "tweets": {
        "0": _tweet(0, "ann", "Tires checked", ["#CarCare"], []),
        "1": _tweet(1, "bob", "Road trip!", ["#Travel", "#carcare"], ["@ann"]),
        "2": _tweet(2, "ann", "Off to the shop", [], []),
    },
    "comments": {"1": [{"user": "bob", "comment": "first"}]},
    "retweets": {"bob": [0]},
    "following_list": ["bob", "cy"],
    "tweet_counter": 3,
}


@pytest.fixture
def api() -> TwitterAPI:
    twitter = TwitterAPI()
    twitter.load_scenario(copy.deepcopy(CONFIG))
    return twitter


def _loaded(config: dict, long_context: bool = False) -> TwitterAPI:
    twitter = TwitterAPI()
    twitter.load_scenario(config, long_context=long_context)
    return twitter


def observe(twitter: TwitterAPI) -> str:
    """The public state, strictly (order and int/str keys count)."""
    return repr(sorted(twitter.state().items(), key=str))


def fails(twitter: TwitterAPI, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = observe(twitter)
    with pytest.raises(ToolError) as info:
        getattr(twitter, tool)(*args, **kwargs)
    assert observe(twitter) == before, f"{tool} failed but changed the state"
    return str(info.value)


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata() -> None:
    assert TwitterAPI.name == "TwitterAPI" and not TwitterAPI.stateless
    assert TwitterAPI.description == (
        "This tool belongs to the TwitterAPI, which provides core functionality for posting tweets, retweeting, "
        "commenting, and following users on Twitter."
    )
    assert domain_class("TwitterAPI") is TwitterAPI  # the module registers it


def test_defaults() -> None:
    for twitter in (TwitterAPI(), _loaded({})):
        assert twitter.state() == dict(DEFAULT_STATE) and set(twitter.state()) == STATE_KEYS
        assert twitter.posting_get_login_status() == {"login_status": False}


def test_tweet_keys_become_ints_but_comment_keys_do_not(api: TwitterAPI) -> None:
    assert list(api.tweets) == [0, 1, 2] and list(api.comments) == ["1"]
    assert api.get_tweet_comments(1) == []  # BFCL quirk: the int lookup misses the config's "1"
    api.comment(1, "second")
    assert api.comments == {
        "1": [{"user": "bob", "comment": "first"}],
        1: [{"username": "ann", "content": "second"}],
    }
    assert api.get_tweet_comments(1) == [{"username": "ann", "content": "second"}]


def test_partial_config_and_long_context_flag() -> None:
    twitter = _loaded({"tweets": {"5": _tweet(5, "x", "y", [], [])}}, long_context=True)
    assert twitter.username == "john" and twitter.tweet_counter == 0 and list(twitter.tweets) == [5]
    assert not hasattr(twitter, "long_context")
    assert _loaded(copy.deepcopy(CONFIG), True).state() == _loaded(copy.deepcopy(CONFIG)).state()
    with pytest.raises(ValueError):
        _loaded({"tweets": {"first": {}}})  # as in BFCL: tweet keys must be integers


def test_isolation_between_instances_config_and_defaults() -> None:
    defaults_before = copy.deepcopy(dict(DEFAULT_STATE))
    config = copy.deepcopy(CONFIG)
    first, second = TwitterAPI.from_scenario(config), TwitterAPI.from_scenario(config)
    first.post_tweet("new")
    first.mention(0, ["@x"])
    first.comment(0, "c")
    first.retweet(1)
    first.follow_user("dee")
    assert second.state() == _loaded(copy.deepcopy(CONFIG)).state() and config == CONFIG
    plain, other = TwitterAPI(), TwitterAPI()
    plain.authenticate_twitter("john", "john123")
    plain.follow_user("zed")
    plain.unfollow_user("alice")
    assert other.state() == TwitterAPI().state() == defaults_before == dict(DEFAULT_STATE)


def test_each_tweet_gets_its_own_lists() -> None:
    twitter = _loaded({"authenticated": True})
    twitter.post_tweet("first")
    twitter.post_tweet("second")
    twitter.mention(0, ["@leak"])  # in BFCL this lands in the shared default list, so in tweet 1 too
    assert twitter.get_tweet(1)["mentions"] == [] and twitter.get_tweet(0)["mentions"] == ["@leak"]
    assert TwitterAPI.post_tweet.__defaults__ == ([], [])
    assert _loaded({"authenticated": True}).post_tweet("fresh")["mentions"] == []
    tags = ["#a"]
    twitter.post_tweet("third", tags)
    tags.append("#b")  # the caller's list is not kept either
    assert twitter.tweets[2]["tags"] == ["#a"]


def test_results_are_copies(api: TwitterAPI) -> None:
    api.post_tweet("x")["mentions"].append("@y")
    api.get_tweet(0)["tags"].append("#z")
    api.get_user_tweets("ann")[0]["content"] = "changed"
    api.search_tweets("trip")[0]["mentions"].clear()
    api.list_all_following()["following_list"].clear()
    api.comment(0, "c")
    api.get_tweet_comments(0)[0]["content"] = "changed"
    assert api.tweets[3]["mentions"] == [] and api.tweets[0]["tags"] == ["#CarCare"]
    assert api.tweets[0]["content"] == "Tires checked" and api.tweets[1]["mentions"] == ["@ann"]
    assert api.following_list == ["bob", "cy"] and api.comments[0] == [{"username": "ann", "content": "c"}]


# ------------------------------------------------------------------------------------------------------------
# Account


def test_authenticate() -> None:
    twitter = TwitterAPI()
    assert twitter.authenticate_twitter("john", "wrong") == {"authentication_status": False}
    assert twitter.authenticated is False
    assert twitter.authenticate_twitter("john", "john123") == {"authentication_status": True}
    assert twitter.authenticate_twitter("x", "y") == {"authentication_status": False}
    assert twitter.posting_get_login_status() == {"login_status": True}  # a failed try keeps the login


def test_calls_that_need_a_login() -> None:
    twitter = TwitterAPI()
    twitter.load_scenario({"tweets": {"0": _tweet(0, "john", "t", [], [])}, "tweet_counter": 1})
    for tool, args in [
        ("post_tweet", ("x",)),
        ("retweet", (0,)),
        ("comment", (0, "x")),
        ("follow_user", ("zed",)),
        ("list_all_following", ()),
        ("unfollow_user", ("alice",)),
    ]:
        message = fails(twitter, tool, *args)
        assert message.startswith(f"{tool}: not authenticated") and "authenticate_twitter(" in message
    # BFCL quirk: mentioning and reading need no login
    assert twitter.mention(0, ["@a"]) == {"mention_status": "Users mentioned successfully"}
    assert twitter.get_tweet(0)["mentions"] == ["@a"] and twitter.get_user_stats("john")["tweet_count"] == 1


# ------------------------------------------------------------------------------------------------------------
# Tweets


def test_post_tweet(api: TwitterAPI) -> None:
    tweet = api.post_tweet("Hello", tags=["#hi"], mentions=["@bob"])
    assert serialize_result(tweet) == (
        '{"id": 3, "username": "ann", "content": "Hello", "tags": ["#hi"], "mentions": ["@bob"]}'
    )
    assert api.tweets[3] == tweet and api.tweet_counter == 4
    assert api.post_tweet("positional", ["#a"], ["@b"])["tags"] == ["#a"]


def test_post_tweet_overwrites_when_the_counter_is_behind() -> None:
    twitter = _loaded({**copy.deepcopy(CONFIG), "tweet_counter": 1})
    twitter.post_tweet("over")
    assert list(twitter.tweets) == [0, 1, 2] and twitter.tweets[1]["content"] == "over"
    assert twitter.get_user_stats("bob")["tweet_count"] == 0


def test_retweet(api: TwitterAPI) -> None:
    assert api.retweet(0) == {"retweet_status": "Successfully retweeted"}
    assert api.retweet(0) == {"retweet_status": "Already retweeted"}
    assert api.retweets == {"bob": [0], "ann": [0]}
    message = fails(api, "retweet", 9)
    assert "no tweet with ID 9" in message and "Tweet IDs: 0, 1, 2." in message and "search_tweets" in message
    assert "There are no tweets yet." in fails(_loaded({"authenticated": True}), "retweet", 0)


def test_comment(api: TwitterAPI) -> None:
    assert api.comment(2, "nice") == {"comment_status": "Comment added successfully"}
    assert api.comments[2] == [{"username": "ann", "content": "nice"}]
    fails(api, "comment", 7, "x")


def test_mention(api: TwitterAPI) -> None:
    api.mention(1, ["@x", "@y"])
    assert api.tweets[1]["mentions"] == ["@ann", "@x", "@y"]
    fails(api, "mention", 9, ["@x"])
    del api.tweets[2]["mentions"]  # as one scenario tweet in BFCL's data
    message = fails(api, "mention", 2, ["@x"])
    assert "no mentions list" in message and "post_tweet" in message


def test_following(api: TwitterAPI) -> None:
    assert api.follow_user("bob") == {"follow_status": False}
    assert api.follow_user("dee") == {"follow_status": True}
    assert api.unfollow_user("bob") == {"unfollow_status": True}
    assert api.unfollow_user("bob") == {"unfollow_status": False}
    assert api.list_all_following() == {"following_list": ["cy", "dee"]}


def test_reading(api: TwitterAPI) -> None:
    assert api.get_tweet(1) == CONFIG["tweets"]["1"]
    assert "no tweet with ID 5" in fails(api, "get_tweet", 5)
    assert [t["id"] for t in api.get_user_tweets("ann")] == [0, 2] and api.get_user_tweets("zed") == []
    assert serialize_result(api.get_user_tweets("bob")) == str([CONFIG["tweets"]["1"]])  # a Python repr
    # content: case-insensitive substring; tags: case-insensitive whole tag
    assert [t["id"] for t in api.search_tweets("#CARCARE")] == [0, 1]
    assert [t["id"] for t in api.search_tweets("carcare")] == []
    assert [t["id"] for t in api.search_tweets("SHOP")] == [2]
    assert len(api.search_tweets("")) == 3
    assert "no tweet with ID 8" in fails(api, "get_tweet_comments", 8)
    assert serialize_result(api.get_tweet_comments(0)) == "[]"


def test_get_user_stats(api: TwitterAPI) -> None:
    assert api.get_user_stats("ann") == {"tweet_count": 2, "following_count": 2, "retweet_count": 0}
    assert api.get_user_stats("bob") == {"tweet_count": 1, "following_count": 0, "retweet_count": 1}


def test_malformed_scenario_tweets() -> None:
    twitter = _loaded(
        {
            "tweets": {
                "3": {"id": 3, "username": "ann", "content": "car talk", "tags": [7]},
                "5": {"id": 5, "content": "no author", "tags": []},
            }
        }
    )
    assert "no 'username' field" in fails(twitter, "get_user_tweets", "ann")
    assert "no 'username' field" in fails(twitter, "get_user_stats", "ann")
    assert len(twitter.search_tweets("car")) == 1  # the content matches: the bad tag is never read (as BFCL)
    assert "int where text belongs" in fails(twitter, "search_tweets", "zzz")


# ------------------------------------------------------------------------------------------------------------
# Bounded work


def test_texts_and_lists_are_bounded(api: TwitterAPI) -> None:
    huge = "x" * (postmod.MAX_TEXT_CHARS + 1)
    many = ["@a"] * (postmod.MAX_LIST_ITEMS + 1)
    assert "at most" in fails(api, "post_tweet", huge)
    assert "at most" in fails(api, "post_tweet", "x", [huge])
    assert "at most" in fails(api, "post_tweet", "x", mentions=many)
    assert "at most" in fails(api, "comment", 0, huge)
    assert "at most" in fails(api, "mention", 0, many)
    assert "at most" in fails(api, "follow_user", huge)
    assert "at most" in fails(api, "search_tweets", huge)
    api.post_tweet("x" * postmod.MAX_TEXT_CHARS, mentions=many[:-1])


# ------------------------------------------------------------------------------------------------------------
# Copies, schemas, registry


def test_clone_and_pickle(api: TwitterAPI) -> None:
    api.post_tweet("x")
    for twin in (api.clone(), pickle.loads(pickle.dumps(api))):
        assert twin.state() == api.state() and twin.tweets[0] is not api.tweets[0]
        twin.mention(0, ["@twin"])
        assert api.tweets[0]["mentions"] == []


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(TwitterAPI)}
    assert list(specs) == BFCL_ORDER
    expected = {
        "authenticate_twitter": (["username", "password"], {}), "posting_get_login_status": ([], {}),
        "post_tweet": (["content"], {"tags": [], "mentions": []}), "retweet": (["tweet_id"], {}),
        "comment": (["tweet_id", "comment_content"], {}), "mention": (["tweet_id", "mentioned_usernames"], {}),
        "follow_user": (["username_to_follow"], {}), "list_all_following": ([], {}),
        "unfollow_user": (["username_to_unfollow"], {}), "get_tweet": (["tweet_id"], {}),
        "get_user_tweets": (["username"], {}), "search_tweets": (["keyword"], {}),
        "get_tweet_comments": (["tweet_id"], {}), "get_user_stats": (["username"], {}),
    }  # fmt: skip
    for name, (required, defaults) in expected.items():
        params = specs[name].parameters
        assert params["required"] == required, name
        assert {k: v["default"] for k, v in params["properties"].items() if "default" in v} == defaults, name
        assert specs[name].param_order == tuple(required) + tuple(defaults), name
        assert specs[name].description.startswith(TwitterAPI.description + " Tool description: ")
        assert all(prop["description"] for prop in params["properties"].values()), name
    assert specs["retweet"].parameters["properties"]["tweet_id"]["type"] == "integer"
    assert specs["mention"].parameters["properties"]["mentioned_usernames"]["items"] == {"type": "string"}


def test_defaults_match_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.posting_api", reason=NO_BFCL)
    assert reference.DEFAULT_STATE == dict(DEFAULT_STATE)
    assert list(reference.DEFAULT_STATE) == list(DEFAULT_STATE)


def test_registry_dispatch(api: TwitterAPI) -> None:
    tools = ToolRegistry([api])
    outcome = tools.execute("post_tweet", tools.bind("post_tweet", ("Hi",), {}))
    assert outcome.error is None and json.loads(outcome.result)["tags"] == []
    assert tools.execute("mention", {"tweet_id": 3, "mentioned_usernames": ["@z"]}).error is None
    assert tools.execute("post_tweet", {"content": "again"}).result.endswith('"tags": [], "mentions": []}')
    assert tools.execute("get_user_tweets", {"username": "bob"}).result.startswith("[{'id': 1, ")
    outcome = tools.execute("retweet", {"tweet_id": 99})
    assert outcome.error == "tool_error" and "no tweet with ID 99" in json.loads(outcome.result)["error"]
    assert tools.execute("retweet", {"tweet_id": "1"}).error == "invalid_arguments"
    # A whole-number float for an integer parameter is refused before the tool runs (docs/envs.md).
    assert tools.execute("retweet", {"tweet_id": 1.0}).error == "invalid_arguments"
    assert tools.execute("retweet", {"tweet_id": 1}).result == '{"retweet_status": "Successfully retweeted"}'
    assert api.retweets["ann"] == [1] and type(api.retweets["ann"][0]) is int
