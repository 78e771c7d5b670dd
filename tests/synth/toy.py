"""A small file-system generator for testing the synthesis machinery on its own (not a built-in generator)."""

from __future__ import annotations

import random
from collections.abc import Mapping

from envtune_gym.domains.base import Domain
from envtune_gym.synth.draft import Call, Draft, Reference, Turn, Withheld
from envtune_gym.synth.generator import Generator, Knobs
from envtune_gym.synth.phrasing import SENTENCES, TOPICS, phrase, pick, quoted, sample


class ToyFiles(Generator):
    """Files in one home folder: create, read by name, read by description, copy what one says into another."""

    name = "toy_files"
    domains = ("GorillaFileSystem",)

    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        topics = sample(rng, TOPICS, knobs.state_size)
        files = {f"{topic}.txt": pick(rng, SENTENCES) for topic in topics}
        taken = set(files)
        drawn = [self._turn(rng, files, taken) for _ in range(turns)]
        contents = {name: {"type": "file", "content": text} for name, text in files.items()}
        return Draft(
            domains=list(self.domains),
            initial_config={
                "GorillaFileSystem": {"root": {"home": {"type": "directory", "contents": contents}}}
            },
            turns=drawn,
            depth=max((1 for turn in drawn if len(turn.calls) > 1), default=0),
            state_size=len(files),
        )

    def _turn(self, rng: random.Random, files: dict[str, str], taken: set[str]) -> Turn:
        existing = sorted(files)
        kind = pick(rng, ["create", "read", "describe", "copy"])
        if kind == "create" or not existing:
            new = self._new_name(rng, taken)
            name = quoted(rng, new)
            return Turn(
                phrase(rng, ["Create an empty file called {n}.", "Please touch {n} for me."], n=name),
                [Call("touch", {"file_name": new})],
                withheld=Withheld("Create a new empty file for me.", f"Call it {name}."),
            )
        target = pick(rng, existing)
        if kind == "read":
            return Turn(f"Show me what {quoted(rng, target)} says.", [Call("cat", {"file_name": target})])
        if kind == "describe":
            topic = target.removesuffix(".txt")
            reference = Reference("file", f"the {topic} file", target, lambda name, t=topic: t in name)
            return Turn(
                f"Open the {topic} file.", [Call("cat", {"file_name": target})], references=[reference]
            )
        new = self._new_name(rng, taken)
        return Turn(
            f"Copy what {quoted(rng, target)} says into a new file {quoted(rng, new)}.",
            [
                Call("cat", {"file_name": target}),
                Call("touch", {"file_name": new}),
                Call("echo", {"content": files[target], "file_name": new}),
            ],
        )

    def _new_name(self, rng: random.Random, taken: set[str]) -> str:
        while True:
            name = f"{pick(rng, TOPICS)}_{rng.randint(1, 99)}.md"
            if name not in taken:
                taken.add(name)
                return name

    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        return list(domains["GorillaFileSystem"].root.contents)

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        root = domains["GorillaFileSystem"].root
        return [name for name in root.contents]  # ls shows names; contents need a cat (an earlier result)
