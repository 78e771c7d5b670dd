"""A small social network: a re-implementation of BFCL's ``TwitterAPI``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`), including the three
tools that return a bare list (``get_user_tweets``, ``search_tweets``, ``get_tweet_comments``, shown as Python
reprs). BFCL's quirks that show in results or state are kept on purpose, and marked ``BFCL quirk`` where they
are. Failures raise :class:`ToolError` with a message that says what to do next, and leave the state as it was.

Deliberate differences: every tweet gets its own ``tags`` and ``mentions`` lists (BFCL stores ``post_tweet``'s
shared default lists, so one ``mention`` leaks into every tweet posted without mentions, in any instance);
results are copies, never the stored objects; BFCL's error texts and its crashes (``mention`` on a scenario tweet
without a mentions list, malformed scenario tweets) become our own ToolError messages; texts and lists are
bounded (see the constants below).

Example:
    >>> api = TwitterAPI()
    >>> api.load_scenario({"tweets": {"0": {"id": 0, "username": "john", "content": "Hi", "tags": [],
    ...     "mentions": []}}, "tweet_counter": 1})
    >>> api.authenticate_twitter("john", "john123"), api.post_tweet("Hello", tags=["#hi"])["id"]
    ({'authentication_status': True}, 1)
    >>> [tweet["content"] for tweet in api.search_tweets("#HI")], sorted(api.tweets)
    (['Hello'], [0, 1])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envtune_gym.domains.base import Domain, ToolError, fresh
from envtune_gym.domains.registry import register_domain
from envtune_gym.tools import tool

#: Longest tweet, comment, user name or search keyword accepted.
MAX_TEXT_CHARS = 100_000
#: Most tags, mentions or mentioned users one call accepts.
MAX_LIST_ITEMS = 1_000
#: How many tweet ids an error message lists before it says "and N more".
_LISTED = 20

#: BFCL's state for keys a scenario leaves out. Never put into state as is: each load takes a deep copy.
DEFAULT_STATE: Mapping[str, Any] = {
    "username": "john",
    "password": "john123",
    "authenticated": False,
    "tweets": {},
    "comments": {},
    "retweets": {},
    "following_list": ["alice", "bob"],
    "tweet_counter": 0,
}

Tweet = dict[str, Any]


def _quote(text: str, limit: int = 80) -> str:
    """A value for a message: quoted, and cut short if long."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _check_text(tool: str, param: str, value: str) -> None:
    if len(value) > MAX_TEXT_CHARS:
        raise ToolError(f"{tool}: {param} is {len(value)} characters long; use at most {MAX_TEXT_CHARS}.")


def _check_list(tool: str, param: str, values: list[str]) -> None:
    if len(values) > MAX_LIST_ITEMS:
        raise ToolError(f"{tool}: {param} has {len(values)} items; give at most {MAX_LIST_ITEMS}.")
    for value in values:
        if isinstance(value, str):
            _check_text(tool, f"an item of {param}", value)


def _field(tool: str, tweet_id: Any, tweet: Tweet, key: str) -> Any:
    """A field of a stored tweet; BFCL crashes on scenario tweets without it, we say so."""
    if not isinstance(tweet, Mapping) or key not in tweet:
        raise ToolError(
            f"{tool}: tweet {tweet_id} from the scenario has no {key!r} field, so {tool} cannot read it."
        )
    return tweet[key]


def _lower(tool: str, tweet_id: Any, text: Any) -> str:
    if not isinstance(text, str):
        raise ToolError(
            f"{tool}: tweet {tweet_id} from the scenario holds a {type(text).__name__} where text belongs."
        )
    return text.lower()


class TwitterAPI(Domain):
    """BFCL's TwitterAPI. Compared state: ``username``, ``password``, ``authenticated``, ``tweets``,
    ``comments``, ``retweets``, ``following_list`` and ``tweet_counter``.

    ``tweets`` maps int ids to ``{"id", "username", "content", "tags", "mentions"}``; ``comments`` maps tweet ids
    to lists of ``{"username", "content"}``; ``retweets`` maps user names to lists of tweet ids.
    """

    name = "TwitterAPI"
    description = (
        "This tool belongs to the TwitterAPI, which provides core functionality for posting tweets, retweeting, "
        "commenting, and following users on Twitter."
    )

    init_loads_empty_scenario = True

    def __init__(self) -> None:
        self.load_scenario({})

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the state from a config; missing keys take BFCL's defaults. The long-context flag is ignored.

        BFCL quirks: tweet keys become ints, but comment keys are kept as given (strings in every config), so
        comments added later (int keys) sit beside them and ``get_tweet_comments`` never finds the config ones.
        Scenario comments are kept as they are, including the ones with ``user``/``comment`` keys.
        """
        state = {
            key: config[key] if key in config else fresh(default, constant=True)
            for key, default in DEFAULT_STATE.items()
        }
        self.username: str = state["username"]
        self.password: str = state["password"]
        self.authenticated: bool = state["authenticated"]
        self.tweets: dict[int, Tweet] = {int(key): tweet for key, tweet in state["tweets"].items()}
        self.comments: dict[Any, list[dict[str, Any]]] = state["comments"]
        self.retweets: dict[str, list[int]] = state["retweets"]
        self.following_list: list[str] = state["following_list"]
        self.tweet_counter: int = state["tweet_counter"]

    # --------------------------------------------------------------------------------------------------------
    # Helpers

    def _require_auth(self, tool: str) -> None:
        if not self.authenticated:
            raise ToolError(
                f"{tool}: not authenticated. Log in first with authenticate_twitter(username, password); "
                f"posting_get_login_status() tells whether you are logged in."
            )

    def _tweet(self, tool: str, tweet_id: int) -> Tweet:
        if tweet_id not in self.tweets:
            ids = [str(key) for key in self.tweets]
            more = f" and {len(ids) - _LISTED} more" if len(ids) > _LISTED else ""
            known = f"Tweet IDs: {', '.join(ids[:_LISTED])}{more}." if ids else "There are no tweets yet."
            raise ToolError(
                f"{tool}: no tweet with ID {tweet_id!r}. {known} search_tweets(keyword) and "
                f"get_user_tweets(username) find tweets with their IDs."
            )
        return self.tweets[tweet_id]

    def _by_user(self, tool: str, username: str) -> list[Tweet]:
        return [
            tweet for key, tweet in self.tweets.items() if _field(tool, key, tweet, "username") == username
        ]

    # --------------------------------------------------------------------------------------------------------
    # Account

    @tool
    def authenticate_twitter(self, username: str, password: str) -> dict[str, bool]:
        """Log in with a username and password.

        Args:
            username: The username.
            password: The password.

        Returns:
            authentication_status: True if the credentials are right, False otherwise.
        """
        # BFCL returns a failed status rather than an error, and a failed try keeps an existing login.
        if username == self.username and password == self.password:
            self.authenticated = True
            return {"authentication_status": True}
        return {"authentication_status": False}

    @tool
    def posting_get_login_status(self) -> dict[str, bool]:
        """Tell whether the user is logged in.

        Returns:
            login_status: True if logged in, False otherwise.
        """
        return {"login_status": bool(self.authenticated)}

    # --------------------------------------------------------------------------------------------------------
    # Tweets

    @tool
    def post_tweet(
        self,
        content: str,
        tags: list[str] = [],  # noqa: B006 -- BFCL's signature; never stored or changed, each tweet copies it
        mentions: list[str] = [],  # noqa: B006
    ) -> Tweet:
        """Post a tweet as the logged-in user.

        Args:
            content: The text of the tweet.
            tags: Tags for the tweet, each starting with '#'. Only needed if the user wants tags. Defaults to
                no tags.
            mentions: Users mentioned in the tweet, each starting with '@'. Only needed if the user wants
                mentions. Defaults to no mentions.

        Returns:
            The posted tweet: id, username, content, tags and mentions.
        """
        _check_text("post_tweet", "the content", content)
        _check_list("post_tweet", "tags", tags)
        _check_list("post_tweet", "mentions", mentions)
        self._require_auth("post_tweet")
        tweet = {
            "id": self.tweet_counter,
            "username": self.username,
            "content": content,
            "tags": list(tags),  # its own lists: BFCL shares the default lists between tweets
            "mentions": list(mentions),
        }
        self.tweets[self.tweet_counter] = tweet  # BFCL quirk: a counter behind the ids overwrites a tweet
        self.tweet_counter += 1
        return fresh(tweet)

    @tool
    def retweet(self, tweet_id: int) -> dict[str, str]:
        """Retweet a tweet as the logged-in user.

        Args:
            tweet_id: The ID of the tweet to retweet.

        Returns:
            retweet_status: "Successfully retweeted", or "Already retweeted".
        """
        self._require_auth("retweet")
        self._tweet("retweet", tweet_id)
        mine = self.retweets.setdefault(self.username, [])
        if tweet_id in mine:
            return {"retweet_status": "Already retweeted"}
        mine.append(tweet_id)
        return {"retweet_status": "Successfully retweeted"}

    @tool
    def comment(self, tweet_id: int, comment_content: str) -> dict[str, str]:
        """Comment on a tweet as the logged-in user.

        Args:
            tweet_id: The ID of the tweet to comment on.
            comment_content: The text of the comment.

        Returns:
            comment_status: What happened.
        """
        _check_text("comment", "the comment", comment_content)
        self._require_auth("comment")
        self._tweet("comment", tweet_id)
        # BFCL quirk: the key is the int id, beside any string key the scenario gave for the same tweet.
        self.comments.setdefault(tweet_id, []).append({"username": self.username, "content": comment_content})
        return {"comment_status": "Comment added successfully"}

    @tool
    def mention(self, tweet_id: int, mentioned_usernames: list[str]) -> dict[str, str]:
        """Mention users in a tweet.

        Args:
            tweet_id: The ID of the tweet in which to mention the users.
            mentioned_usernames: The usernames to mention.

        Returns:
            mention_status: What happened.
        """
        _check_list("mention", "mentioned_usernames", mentioned_usernames)
        # BFCL quirk: no login needed, and any tweet can be changed, whoever posted it.
        tweet = self._tweet("mention", tweet_id)
        mentions = tweet.get("mentions") if isinstance(tweet, Mapping) else None
        if not isinstance(mentions, list):  # BFCL crashes on these scenario tweets
            raise ToolError(
                f"mention: tweet {tweet_id} from the scenario has no mentions list, so no one can be mentioned in "
                f"it. Post a new tweet with post_tweet(content, mentions=[...]) instead."
            )
        mentions.extend(mentioned_usernames)
        return {"mention_status": "Users mentioned successfully"}

    # --------------------------------------------------------------------------------------------------------
    # Following

    @tool
    def follow_user(self, username_to_follow: str) -> dict[str, bool]:
        """Follow a user as the logged-in user.

        Args:
            username_to_follow: The username of the user to follow.

        Returns:
            follow_status: True if now followed, False if already followed.
        """
        _check_text("follow_user", "the username", username_to_follow)
        self._require_auth("follow_user")
        if username_to_follow in self.following_list:
            return {"follow_status": False}
        self.following_list.append(username_to_follow)
        return {"follow_status": True}

    @tool(lists=True)
    def list_all_following(self) -> dict[str, list[str]]:
        """List every user the logged-in user follows.

        Returns:
            following_list: The usernames followed.
        """
        self._require_auth("list_all_following")
        return {"following_list": list(self.following_list)}

    @tool
    def unfollow_user(self, username_to_unfollow: str) -> dict[str, bool]:
        """Unfollow a user as the logged-in user.

        Args:
            username_to_unfollow: The username of the user to unfollow.

        Returns:
            unfollow_status: True if unfollowed, False if the user was not followed.
        """
        self._require_auth("unfollow_user")
        if username_to_unfollow not in self.following_list:
            return {"unfollow_status": False}
        self.following_list.remove(username_to_unfollow)
        return {"unfollow_status": True}

    # --------------------------------------------------------------------------------------------------------
    # Reading (no login needed, as in BFCL)

    @tool
    def get_tweet(self, tweet_id: int) -> Tweet:
        """Get one tweet by its ID.

        Args:
            tweet_id: The ID of the tweet.

        Returns:
            The tweet: id, username, content, tags and mentions.
        """
        return fresh(self._tweet("get_tweet", tweet_id))

    @tool
    def get_user_tweets(self, username: str) -> list[Tweet]:
        """Get every tweet posted by a user.

        Args:
            username: The username whose tweets to get.

        Returns:
            The user's tweets, each with id, username, content, tags and mentions.
        """
        return fresh(self._by_user("get_user_tweets", username))

    @tool
    def search_tweets(self, keyword: str) -> list[Tweet]:
        """Search tweets whose content contains a keyword or that have it as a tag (case-insensitive).

        Args:
            keyword: The text to look for in the tweets' content, or a whole tag such as '#news'.

        Returns:
            The matching tweets, each with id, username, content, tags and mentions.
        """
        _check_text("search_tweets", "the keyword", keyword)
        needle = keyword.lower()
        found = []
        for key, tweet in self.tweets.items():
            if needle in _lower("search_tweets", key, _field("search_tweets", key, tweet, "content")):
                found.append(tweet)
            # As in BFCL, the tags are read (and can fail) only when the content does not match.
            elif needle in [
                _lower("search_tweets", key, tag) for tag in _field("search_tweets", key, tweet, "tags")
            ]:
                found.append(tweet)
        return fresh(found)

    @tool
    def get_tweet_comments(self, tweet_id: int) -> list[dict[str, Any]]:
        """Get every comment on a tweet.

        Args:
            tweet_id: The ID of the tweet.

        Returns:
            The comments, each with username and content.
        """
        self._tweet("get_tweet_comments", tweet_id)
        return fresh(self.comments.get(tweet_id, []))

    @tool
    def get_user_stats(self, username: str) -> dict[str, int]:
        """Get a user's statistics.

        Args:
            username: The username to get statistics for.

        Returns:
            tweet_count: How many tweets the user posted.
            following_count: How many users the user follows (known for the logged-in account only, else 0).
            retweet_count: How many retweets the user made.
        """
        return {
            "tweet_count": len(self._by_user("get_user_stats", username)),
            # BFCL quirk: only the own account's following list is known; anyone else follows 0 users.
            "following_count": len(self.following_list) if username == self.username else 0,
            "retweet_count": len(self.retweets.get(username, [])),
        }


register_domain(TwitterAPI, order=30)
