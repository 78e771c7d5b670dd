"""Vocabularies of the file-system task generator (:mod:`.filesystem_synth`), the initial state drawn from them,

Over 600 lines on purpose: it is mostly data (vocabularies and templates), kept next to the simulated state that
draws from it.
and the simulated state the drafted calls run on.

Names are drawn so that BFCL's long-context padding cannot be confused with them: no ``.jpg`` files, no word of
``image_<digits>.jpg``, none of the nine file names the padding leaves unpadded. Contents are plain lines (CSV
rows, notes, code, log lines) so that wc, tail, sort, grep and diff have something to work on.

Templates are ``str.format`` strings. Action templates are imperative clauses (lower case, no full stop) that
:data:`SENTENCES_PLAIN` / :data:`SENTENCES_NAV` turn into a request; their fields are ``file``, ``file2``,
``dir``, ``new``, ``content``, ``n``, ``unit``, ``pattern``, ``kind``, ``here`` ("here" or "there") and ``this``
("this folder" or "that folder").

:func:`build_world` draws a task's home folder; :class:`Sim` runs the drafted calls on a private
:class:`~envtune_gym.domains.filesystem.FileSystem` and remembers what the agent has seen, so that the generator
can keep every call valid and needed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from envtune_gym.domains.base import ToolError
from envtune_gym.domains.filesystem import Directory, Entry, File, FileSystem
from envtune_gym.results import serialize_result
from envtune_gym.synth.draft import Call
from envtune_gym.synth.generator import Knobs
from envtune_gym.synth.phrasing import pick, sample

Path = tuple[str, ...]

ROOT_NAMES: tuple[str, ...] = (
    "alex", "workspace", "home_office", "maya", "studio", "ravi", "lab", "nora", "desk", "ollie", "shared",
    "kim", "projects_root", "dana", "campus", "leo", "freelance", "iris", "bakery", "tom",
)  # fmt: skip
DIR_NAMES: tuple[str, ...] = (
    "reports", "archive", "drafts", "invoices", "scripts", "backups", "notes", "taxes", "recipes", "travel",
    "school", "clients", "music", "research", "meetings", "designs", "contracts", "personal", "admin",
    "marketing", "finance", "garden", "fitness", "letters", "old_stuff", "downloads", "templates", "exports",
    "website", "receipts_box", "planning", "hr", "inbox", "outbox", "lectures", "thesis", "sandbox", "vendors",
    "events", "support",
)  # fmt: skip
NEW_DIR_NAMES: tuple[str, ...] = (
    "to_review", "done", "keep", "staging", "for_print", "q_review", "handoff", "scratch", "parked", "urgent",
    "later", "sorted", "final_cut", "pending", "shortlist", "spare", "for_anna", "followups", "bundle", "sent",
)  # fmt: skip
DIR_SUFFIXES: tuple[str, ...] = ("2023", "2024", "old", "new", "misc", "b", "extra")

#: File stems: the topic a description ("the budget spreadsheet") names.
TOPICS: tuple[str, ...] = (
    "budget", "roadmap", "invoice", "minutes", "survey", "inventory", "schedule", "proposal", "summary",
    "checklist", "contacts", "timeline", "feedback", "glossary", "backlog", "itinerary", "receipts", "agenda",
    "expenses", "payroll", "syllabus", "recipe", "playlist", "guestlist", "workout", "reading", "mortgage",
    "benchmark", "forecast", "roster", "quotes", "catalog", "warranty", "resume", "portfolio", "estimate",
    "ledger", "outline", "deadlines", "shopping", "packing", "vocab", "grades", "rota", "sprint", "pricing",
    "onboarding", "handbook", "interview", "transcript", "donations", "mileage", "bookings", "lineup",
)  # fmt: skip
NEW_TOPICS: tuple[str, ...] = (
    "ideas", "plan", "memo", "draft", "todo", "wishlist", "questions", "sketch", "brief", "digest", "tally",
    "errands", "recap", "pitch", "journal", "highlights", "contacts_new", "followup", "estimate_new", "notes_b",
)  # fmt: skip
QUALIFIERS: tuple[str, ...] = (
    "2023", "2024", "q1", "q2", "q3", "q4", "jan", "march", "june", "sept", "final", "v2", "v3", "team",
    "draft", "spring", "fall", "north", "south", "internal",
)  # fmt: skip
NEAR_MISS_SUFFIXES: tuple[str, ...] = ("old", "copy", "bak", "prev", "v1", "scratch")
#: Extension groups, by what a user calls such a file.
EXT_GROUPS: dict[str, tuple[str, ...]] = {
    "spreadsheet": (".csv", ".xlsx"),
    "document": (".txt", ".md", ".docx"),
    "PDF": (".pdf",),
    "script": (".py", ".sh"),
    "slide deck": (".pptx",),
    "config file": (".json", ".yaml"),
    "picture": (".png",),
}
_EXT_GROUP: dict[str, str] = {ext: group for group, exts in EXT_GROUPS.items() for ext in exts}
GROUP_WEIGHTS: dict[str, int] = {
    "spreadsheet": 5, "document": 7, "PDF": 3, "script": 3, "slide deck": 2, "config file": 2, "picture": 1,
}  # fmt: skip
#: BFCL's long-context padding leaves these unpadded: never use them.
PADDING_EXEMPT: frozenset[str] = frozenset(
    ["log.txt", "report.txt", "report.csv", "DataSet1.csv", "file1.txt", "finance_report.txt", "config.py",
     "Q4_summary.doc", "file3.txt"]
)  # fmt: skip
#: What new files are: text a user would write into.
TEXT_GROUPS: tuple[str, ...] = ("document", "config file", "spreadsheet")
HIDDEN_FILES: tuple[str, ...] = (".env", ".gitignore", ".bash_history", ".editorconfig", ".npmrc")
POINTER_STEMS: tuple[str, ...] = ("todo", "reminder", "next_steps", "handover", "note_to_self", "followups")
POINTER_LINES: tuple[str, ...] = (
    "Remember to deal with {f} this week.", "{f} still needs a second look.", "Ask Sam about {f}.",
    "The file that matters is {f}.", "Do not forget {f} before Friday.",
)  # fmt: skip

# ------------------------------------------------------------------------------------------------------------
# Contents

ITEMS: tuple[str, ...] = (
    "lamps", "cables", "chairs", "paper", "toner", "mugs", "laptops", "tents", "ropes", "boots", "maps",
    "tapes", "bulbs", "paint", "flour", "sugar", "apples", "nails", "screws", "keyboards",
)  # fmt: skip
NOTE_LINES: tuple[str, ...] = (
    "Revenue grew in the third quarter.", "Ship the beta by Friday.", "Call the supplier about late parts.",
    "The venue holds eighty guests.", "Renew the domain before it lapses.", "Draft the grant summary first.",
    "Backups run every night at two.", "Order more printer toner.", "The audit found no major issues.",
    "Review pull requests each morning.", "Book the van for the field trip.", "Update the onboarding guide.",
    "Interview slots are on Tuesday.", "Water the lab plants weekly.", "Send the minutes to the board.",
    "Parking passes expire in May.", "Lunch is catered on Thursdays.", "Check the fire exits monthly.",
    "The printer on floor two jams.", "Quotes are due by the tenth.", "Invite Rosa to the kickoff.",
    "Pack extra batteries for the trip.", "Translate the brochure into Dutch.", "Confirm the hotel shuttle.",
)  # fmt: skip
CODE_LINES: tuple[str, ...] = (
    "import csv", "import sys", "def main():", "    rows = load()", "    print(total)", "for row in rows:",
    "    check(row)", "if __name__ == '__main__':", "    main()", "echo starting", "set -e", "rsync -a src dst",
    "export MODE=prod", "return summary",
)  # fmt: skip
CONFIG_LINES: tuple[str, ...] = (
    "debug: false", "retries: 3", "region: west", "timeout: 30", "owner: ops", "theme: dark", "cache: on",
    "verbose: true", "port: 8080", "backup: nightly",
)  # fmt: skip
SLIDE_TITLES: tuple[str, ...] = (
    "Welcome", "Goals", "Timeline", "Risks", "Budget", "Team", "Next steps", "Questions", "Results", "Roadmap",
)  # fmt: skip
#: What users ask to write: kept apart from the initial contents, so a withheld text is really unknown.
NEW_CONTENT: tuple[str, ...] = (
    "Call the caterer on Monday", "Pick up the signed lease", "Draft ready for review", "Move standup to 10am",
    "Ask Priya for the final numbers", "Budget approved, start hiring", "Renew passports before June",
    "Submit the expense claims", "Meeting moved to room 4B", "Order two more monitors", "Backup verified",
    "Send thank-you cards", "Fix the broken link on the homepage", "Book flights for the conference",
    "Tests pass on the new branch", "Return the library books", "Schedule the dentist appointment",
    "Print the boarding passes", "Vote on the new logo", "Bring snacks for the workshop",
)  # fmt: skip

# ------------------------------------------------------------------------------------------------------------
# Requests

SENTENCES_PLAIN: tuple[str, ...] = (
    "{A}.", "Please {a}.", "Could you {a}?", "Next, {a}.", "I'd like you to {a}.", "Can you {a}?",
    "Now {a}, please.", "Would you {a}?",
)  # fmt: skip
SENTENCES_NAV: tuple[str, ...] = (
    "{N} and {a}.", "{N}, then {a}.", "Please {n} and {a}.", "First {n}; once you're there, {a}.",
    "Could you {n} and {a}?", "I need you to {n} and {a}.",
)  # fmt: skip
LEADS: tuple[str, ...] = (
    "Thanks.",
    "Great.",
    "OK.",
    "Perfect.",
    "Alright.",
    "Got it.",
    "Nice.",
    "Hmm, okay.",
)
NAV_DOWN: tuple[str, ...] = ("go into {d}", "open the {d} folder", "switch to {d}", "head into {d}")
NAV_UP_ROOT: tuple[str, ...] = (
    "go back up to the top-level {r} folder", "return to the main {r} directory", "head back to {r}",
)  # fmt: skip
NAV_UP: tuple[str, ...] = ("go back up to {p}", "step back out to {p}", "return to the {p} folder")
NAV_UP_ONE: tuple[str, ...] = ("go up one level", "go back to the parent folder", "step out of this folder")
NAV_ACROSS: tuple[str, ...] = ("go back to {p} and into {d}", "head back up to {p}, then over to {d}")

ACTIONS: dict[str, tuple[str, ...]] = {
    "list": ("list everything {here}", "show me what's in {this}", "tell me which files and folders are {here}",
             "give me a listing of {this}"),
    "list_hidden": ("list everything {here}, hidden files included", "show me all the contents of {this}, "
                    "even the hidden ones", "list {this} including the dotfiles"),
    "pwd": ("tell me the full path of {this}", "show me the absolute path of the directory I'm in",
            "print the path of the current working directory"),
    "read": ("show me what {file} says", "print the contents of {file}", "open {file} so I can read it",
             "display {file}", "read {file} out to me"),
    "count": ("count the {unit} in {file}", "tell me how many {unit} {file} has",
              "get me the number of {unit} in {file}"),
    "tail": ("show me the last {n} lines of {file}", "print the final {n} lines of {file}",
             "display just the last {n} lines of {file}"),
    "tail_vague": ("show me the last few lines of {file}", "print the end of {file}",
                   "display the final lines of {file}"),
    "sort": ("sort the lines of {file} and show me the result", "show me {file} with its lines in sorted order",
             "alphabetize the lines of {file}"),
    "grep": ("find the lines in {file} that mention {pattern}", "search {file} for {pattern}",
             "show me every line of {file} containing {pattern}"),
    "grep_vague": ("search {file} for a word I have in mind", "look through {file} for lines with a certain word",
                   "pull out some specific lines of {file}"),
    "diff": ("compare {file} with {file2} line by line", "show me how {file} differs from {file2}",
             "diff {file} against {file2}"),
    "du": ("tell me how much disk space {this} uses{hr}", "check the disk usage of {this}{hr}",
           "find out how big {this} is on disk{hr}"),
    "mkdir": ("create a folder called {new} {here}", "make a new directory named {new}",
              "add a subfolder {new} {here}"),
    "mkdir_vague": ("create a new folder {here}", "make a new directory {here}", "add a subfolder {here}"),
    "touch": ("create an empty file called {new} {here}", "make a blank file named {new}",
              "touch a new file {new} {here}"),
    "touch_vague": ("create a new empty file {here}", "make a blank file {here}", "add an empty file {here}"),
    "write_new": ("create a file called {new} and write {content} in it", "make a new file {new} containing "
                  "{content}", "start a file named {new} with the text {content}"),
    "write_new_vague": ("create a file called {new} and put a short note in it", "make a new file {new} with "
                        "some text in it", "start a file named {new} and write a line in it"),
    "overwrite": ("replace everything in {file} with {content}", "overwrite {file} so it just says {content}",
                  "change the contents of {file} to {content}"),
    "overwrite_vague": ("replace what {file} says with something new", "overwrite {file} with a new note",
                        "update the text in {file}"),
    "rename": ("rename {file} to {new}", "change the name of {file} to {new}", "give {file} the new name {new}"),
    "rename_vague": ("rename {file}", "give {file} a better name", "change the name of {file}"),
    "move": ("move {file} into the {dir} folder", "put {file} inside {dir}", "tuck {file} away in {dir}"),
    "copy_into": ("copy {file} into {dir}", "put a copy of {file} in the {dir} folder",
                  "duplicate {file} into {dir}, keeping the original"),
    "copy_as": ("make a copy of {file} called {new}", "duplicate {file} as {new}",
                "copy {file} to a new file named {new}"),
    "copy_as_vague": ("make a copy of {file}", "duplicate {file} under a new name",
                      "back up {file} as a separate file"),
    "delete": ("delete {file}", "remove {file}, I don't need it anymore", "get rid of {file}"),
    "delete_dir": ("delete the {dir} folder and everything in it", "remove the whole {dir} directory",
                   "wipe out {dir} along with its contents"),
    "rmdir": ("remove {dir}, it's empty", "delete the empty folder {dir}", "get rid of the empty {dir} directory"),
    "organize": ("make a folder called {new} and move {file} into it", "create a directory {new} {here} and put "
                 "{file} in it", "set up a new folder {new} and put {file} inside it"),
    "organize_vague": ("make a new folder and move {file} into it", "create a directory {here} and put {file} "
                       "in it", "set up a new folder and put {file} inside it"),
    "backup_edit": ("copy {file} to {new}, then replace the copy's text with {content}", "make a copy of {file} "
                    "named {new} and write {content} into the copy", "duplicate {file} as {new} and overwrite "
                    "the duplicate with {content}"),
    "backup_edit_vague": ("copy {file} to {new}, then replace the copy's text with a new line", "make a copy of "
                          "{file} named {new} and write something new into the copy", "duplicate {file} as {new} and put a "
                          "fresh note in the duplicate"),
    "find": ("search {this} and everything below it for names containing {pattern}", "find every file and "
             "folder under {this} whose name contains {pattern}", "look for anything with {pattern} in its "
             "name, starting {here}"),
    "list_pick": ("check what's in {this} and {act} the {kind} in it", "look at the contents of {this}; then "
                  "{act} the only {kind} there", "see what's {here}, and {act} the {kind} you find"),
}  # fmt: skip
#: What a chain does to the file it found: (tool, clause, wc mode or None).
CHAIN_ACTS: tuple[tuple[str, str, str | None], ...] = (
    ("cat", "show me what it says", None), ("cat", "print its contents", None),
    ("wc", "tell me how many lines it has", "l"), ("wc", "count its words", "w"),
    ("rm", "delete it", None), ("sort", "show me its lines sorted", None),
)  # fmt: skip
FIND_LEADS: tuple[str, ...] = (
    "Somewhere under {this} there's a file with {pattern} in its name. Find it, go to it, and {act}.",
    "I lost a file whose name contains {pattern}; it's somewhere below {this}. Track it down and {act}.",
    "Search under {this} for the file with {pattern} in its name, go where it is, and {act}.",
)  # fmt: skip
#: A note's lead sentence, and how its action names the file the note mentions.
NOTE_LEADS: tuple[tuple[str, str], ...] = (
    ("Open {file}; it mentions another file. Go to that file and {act}.", "it"),
    ("Read {file}. It names a file I care about: find that one and {act}.", "it"),
    ("{File} refers to some other file. Read it, then {act}.", "the file it mentions"),
)  # fmt: skip
NOTE_FIND_LEADS: tuple[tuple[str, str], ...] = (
    ("Somewhere under {this} is a note with {pattern} in its name. Find it, read it, and {act}.",
     "the file it mentions"),
    ("Track down the note whose name contains {pattern} (it's below {this}), open it, then {act}.",
     "the file it names"),
    ("Look under {this} for a note named with {pattern}; it points to another file. {Act}.", "that file"),
)  # fmt: skip
NOTE_ACTS: tuple[tuple[str, str], ...] = (("cat", "show me {obj}"), ("rm", "delete {obj}"),
                                          ("wc", "count the lines of {obj}"))  # fmt: skip
PICK_ACTS: tuple[tuple[str, str], ...] = (("cat", "show me"), ("rm", "delete"), ("wc", "count the words of"))
SUPPLY_NAME: tuple[str, ...] = (
    "Call it {new}.",
    "Name it {new}.",
    "The name should be {new}.",
    "Use the name {new}.",
)
SUPPLY_CONTENT: tuple[str, ...] = (
    "The text is {content}.",
    "Write {content} in it.",
    "Make it say {content}.",
)
SUPPLY_PATTERN: tuple[str, ...] = ("The word is {pattern}.", "Look for {pattern}.", "Search for {pattern}.")
SUPPLY_LINES: tuple[str, ...] = (
    "Just the last {n} lines.",
    "{n} lines, please.",
    "Make it the last {n} lines.",
)
#: Ways to point back at what an earlier turn made.
RECENT_FILE: tuple[str, ...] = (
    "the file you just created",
    "that new file",
    "the file you made a moment ago",
)
RECENT_COPY: tuple[str, ...] = ("the copy you just made", "that copy", "the new copy")
RECENT_RENAMED: tuple[str, ...] = (
    "the file you just renamed",
    "the renamed file",
    "that file with its new name",
)
RECENT_MOVED: tuple[str, ...] = (
    "the file you just moved",
    "the file you moved a moment ago",
    "that moved file",
)
#: How a request points at the file the previous turn made, copied, renamed or moved.
RECENT_FILES: dict[str, tuple[str, ...]] = {
    "copy": RECENT_COPY, "file": RECENT_FILE, "renamed": RECENT_RENAMED, "moved": RECENT_MOVED,
}  # fmt: skip
RECENT_DIR: tuple[str, ...] = (
    "the folder you just made",
    "that new folder",
    "the directory you just created",
)
UNITS: dict[str, str] = {"l": "lines", "w": "words", "c": "characters"}
CONNECTORS: tuple[str, ...] = ("", "Also:", "After that:", "One more thing:", "And then:")
RENAME_SUFFIXES: tuple[str, ...] = ("backup", "v2", "final", "new", "archived", "2025", "clean", "shared")
HUMAN_READABLE: tuple[str, ...] = (" in human-readable units", ", in KB or MB rather than bytes",
                                   ", human-readable please")  # fmt: skip

# ------------------------------------------------------------------------------------------------------------
# Drawing names and contents


def group_of(name: str) -> str | None:
    """The extension group of a file name ("spreadsheet" for ``.csv``), or None."""
    dot = name.rfind(".")
    return _EXT_GROUP.get(name[dot:]) if dot > 0 else None


def split_name(name: str) -> tuple[str, str]:
    """``("budget_q3", ".csv")`` for ``budget_q3.csv``."""
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if dot > 0 else (name, "")


def file_name(
    rng: random.Random,
    taken: set[str],
    topics: Sequence[str] = TOPICS,
    groups: Sequence[str] = tuple(GROUP_WEIGHTS),
) -> str:
    """A new file name (``topic.ext``, ``topic_qualifier.ext`` or ``qualifier_topic.ext``) not in ``taken``."""
    for attempt in range(60):
        group = rng.choices(groups, [GROUP_WEIGHTS[g] for g in groups])[0]
        topic, qualifier, shape = pick(rng, topics), pick(rng, QUALIFIERS), rng.random()
        stem = topic if shape < 0.3 else f"{qualifier}_{topic}" if shape < 0.45 else f"{topic}_{qualifier}"
        if attempt > 30:
            stem = f"{stem}_{rng.randint(2, 99)}"
        name = stem + pick(rng, EXT_GROUPS[group])
        if name not in taken and name not in PADDING_EXEMPT:
            return name
    raise RuntimeError("no free file name")  # unreachable for state sizes up to 200


def dir_name(rng: random.Random, taken: set[str], names: Sequence[str] = DIR_NAMES) -> str:
    """A new folder name not in ``taken``."""
    for attempt in range(60):
        name = pick(rng, names)
        if attempt > 10:
            name = f"{name}_{pick(rng, DIR_SUFFIXES)}" if attempt < 40 else f"{name}_{rng.randint(2, 999)}"
        if name not in taken:
            return name
    raise RuntimeError("no free folder name")  # unreachable for state sizes up to 200


def near_miss(rng: random.Random, name: str, taken: set[str]) -> str | None:
    """A name one careless look could take for ``name``: another qualifier, a suffix, a sibling extension."""
    stem, ext = split_name(name)
    parts = stem.split("_")
    options = [f"{stem}_{suffix}{ext}" for suffix in NEAR_MISS_SUFFIXES] + [f"old_{stem}{ext}"]
    group = group_of(name)
    options += [stem + other for other in EXT_GROUPS.get(group or "", ()) if other != ext]
    options += ["_".join(q if p in QUALIFIERS else p for p in parts) + ext for q in QUALIFIERS]
    free = [option for option in options if option != name and option not in taken]
    return pick(rng, free) if free else None


def content(rng: random.Random, group: str | None) -> str:
    """Plausible text for a file of ``group``: CSV rows, notes, code, config lines, slide titles."""
    lines = rng.randint(2, 5)
    if group == "spreadsheet":
        rows = [f"{item},{rng.randint(1, 40)},{rng.randint(2, 300)}.{rng.randint(0, 99):02d}"
                for item in sample(rng, ITEMS, lines)]  # fmt: skip
        return "\n".join([pick(rng, ("item,qty,price", "name,count,cost", "product,units,total")), *rows])
    if group == "script":
        return "\n".join(sample(rng, CODE_LINES, lines + 1))
    if group == "config file":
        return "\n".join(sample(rng, CONFIG_LINES, lines))
    if group == "slide deck":
        return "\n".join(
            f"Slide {i + 1}: {title}" for i, title in enumerate(sample(rng, SLIDE_TITLES, lines))
        )
    if group == "picture":
        return f"PNG data {rng.choice((640, 800, 1024))}x{rng.choice((480, 600, 768))}"
    if group == "PDF":
        return "Scanned copy\n" + "\n".join(sample(rng, NOTE_LINES, lines - 1))
    return "\n".join(sample(rng, NOTE_LINES, lines))


#: The long-context padding's image names: a find pattern or a description must match none of them.
PADDING_IMAGES: tuple[str, ...] = FileSystem.long_context_padding().images
PADDING_TEXT: str = FileSystem.long_context_padding().extension


# ------------------------------------------------------------------------------------------------------------
# Matchers of references (picklable, comparable, unlike lambdas)


@dataclass(frozen=True)
class Is:
    """One name exactly: what "the file you just created" refers to."""

    name: str

    def __call__(self, name: str) -> bool:
        return name == self.name


@dataclass(frozen=True)
class Contains:
    """A name by a part of it: "the file with 'invoice' in its name"."""

    part: str

    def __call__(self, name: str) -> bool:
        return self.part in name


@dataclass(frozen=True)
class Describes:
    """A file by topic and kind: "the budget spreadsheet" (``topic`` empty: by kind alone, "the PDF")."""

    topic: str
    exts: tuple[str, ...]

    def __call__(self, name: str) -> bool:
        return self.topic in name and name.endswith(self.exts)


# ------------------------------------------------------------------------------------------------------------
# The initial state


@dataclass
class World:
    """A drawn home folder: its name, the scenario ``load_scenario`` takes, and what the task records."""

    root: str
    config: dict[str, Any]
    size: int
    distractors: int
    focus: list[str]  # files with a near miss: the turns pick them more often


def build_world(rng: random.Random, knobs: Knobs) -> World:
    """A home folder of ``state_size`` entries: folders, files, near misses, maybe a hidden file and a note."""
    size = knobs.state_size
    n_dirs = min(size - 1, round(size * rng.uniform(0.2, 0.35))) if size >= 3 else 0
    n_near = min(knobs.distractors, (size - n_dirs) // 2)
    taken: set[str] = set()
    folders: dict[Path, dict[str, Any]] = {(): {}}
    for index in range(n_dirs):
        shallow = [path for path in folders if len(path) < 2]
        parent = () if index < 2 or rng.random() < 0.5 else pick(rng, shallow)
        name = dir_name(rng, taken)
        taken.add(name)
        folders[parent][name] = {"type": "directory", "contents": {}}
        folders[(*parent, name)] = folders[parent][name]["contents"]
    paths = list(folders)
    placed: list[tuple[Path, str]] = []
    for _ in range(size - n_dirs - n_near):
        path = () if rng.random() < 0.3 else pick(rng, paths)
        name = file_name(rng, taken)
        taken.add(name)
        folders[path][name] = {"type": "file", "content": content(rng, group_of(name))}
        placed.append((path, name))
    _add_extras(rng, folders, placed, taken)
    focus = rng.sample(placed, min(n_near, len(placed)))
    twins = 0
    for path, name in focus:
        twin = near_miss(rng, name, taken)
        if twin is not None:
            twins += 1
            taken.add(twin)
            where = path if rng.random() < 0.7 else pick(rng, paths)
            folders[where][twin] = {"type": "file", "content": content(rng, group_of(twin))}
    for path in paths:  # mix folders and files in the listings
        items = list(folders[path].items())
        rng.shuffle(items)
        folders[path].clear()
        folders[path].update(items)
    root = pick(rng, ROOT_NAMES)
    config = {"root": {root: {"type": "directory", "contents": folders[()]}}}
    return World(root, config, len(taken), twins, [name for _, name in focus])


def _add_extras(
    rng: random.Random, folders: dict[Path, dict[str, Any]], placed: list[tuple[Path, str]], taken: set[str]
) -> None:
    """Turn one placed file into a hidden file, and another into a note that mentions a third (in the note's
    folder or below it, so that reaching it from the note needs only cd calls down)."""
    if len(placed) >= 4 and rng.random() < 0.3:
        path, name = placed.pop(rng.randrange(len(placed)))
        hidden = pick(rng, [h for h in HIDDEN_FILES if h not in taken] or [name])
        entry = folders[path].pop(name)
        taken.discard(name)
        taken.add(hidden)
        folders[()][hidden] = {"type": "file", "content": entry["content"]}
    if len(placed) >= 3 and rng.random() < 0.8:
        index = rng.randrange(len(placed))
        path, name = placed[index]
        mentioned = [other for other in placed if other[0][: len(path)] == path and other[1] != name]
        stem = pick(rng, [s for s in POINTER_STEMS if not any(s in t for t in taken)] or ["memo_x"])
        if mentioned:
            note = f"{stem}{pick(rng, ('.txt', '.md'))}"
            text = pick(rng, POINTER_LINES).format(f=pick(rng, mentioned)[1])
            del folders[path][name]
            taken.discard(name)
            taken.add(note)
            folders[path][note] = {"type": "file", "content": text}
            placed[index] = (path, note)


# ------------------------------------------------------------------------------------------------------------
# The simulated state while drafting


class Sim:
    """A private FileSystem that runs the drafted calls, and what the agent has seen so far."""

    def __init__(self, world: World) -> None:
        self.fs = FileSystem()
        self.fs.load_scenario(world.config)
        self._entries: list[tuple[Path, str, Entry]] | None = None
        self._counts: Counter[str] | None = None
        self.made: dict[str, tuple[Path, str]] = {}  # what this turn made so far
        self.root = world.root
        self.focus = set(world.focus)
        self.cwd: Path = ()
        self.seen: set[str] = set()  # every result string so far: a read repeating one is not necessary
        self.corpus: list[str] = [name for _, name, _ in self.entries()]  # names, requests, results
        self.recent: dict[str, tuple[Path, str]] = {}  # what the previous turn made: file, copy, dir
        self.made_dirs: set[Path] = set()  # folders the task created (empty even with long-context padding)
        self.busy: set[str] = set()  # names this turn's writes touched: later parts leave them alone
        self.start: list[tuple[Path, str, Entry]] = []  # the entries when the turn began (for references)

    def entries(self) -> list[tuple[Path, str, Entry]]:
        """Every (folder, name, entry) of the tree, folders before their contents, in listing order."""
        if self._entries is None:
            self._entries = list(walk(self.fs.root))
        return self._entries

    def files(self) -> list[tuple[Path, str]]:
        return [(path, name) for path, name, entry in self.entries() if isinstance(entry, File)]

    def dirs(self) -> list[Path]:
        return [()] + [(*path, name) for path, name, entry in self.entries() if isinstance(entry, Directory)]

    def count(self, test: Callable[[str], bool], kind: type | None = None) -> int:
        return sum(
            1 for _, name, entry in self.entries() if test(name) and (kind is None or isinstance(entry, kind))
        )

    def name_counts(self) -> Counter[str]:
        """How many entries bear each name (a name held twice cannot be referred to by name alone)."""
        if self._counts is None:
            self._counts = Counter(name for _, name, _ in self.entries())
        return self._counts

    def directory(self, path: Path) -> Directory:
        node = self.fs.root
        for name in path:
            node = node.contents[name]
        return node

    def peek(self, path: Path, tool: str, /, **arguments: Any) -> str | None:
        """The result ``tool`` would give in folder ``path`` (None: an error), leaving everything as it was."""
        saved = self.fs._current_dir  # our own instance: look from another folder without cd calls
        self.fs._current_dir = self.directory(path)
        try:
            return serialize_result(getattr(self.fs, tool)(**arguments))
        except ToolError:
            return None
        finally:
            self.fs._current_dir = saved

    def fresh(self, result: str | None) -> bool:
        """Whether a read's result is new (BFCL's check counts earlier results, so a repeat is not needed)."""
        return result is not None and result not in self.seen

    def knows(self, text: str) -> bool:
        """Whether ``text`` appears in anything the agent has seen (a withheld value must not)."""
        return any(text in piece for piece in self.corpus)

    def run(self, calls: list[Call]) -> None:
        """Run drafted calls for real, tracking the working folder and the results."""
        self._entries = self._counts = None
        for call in calls:
            try:
                result = serialize_result(getattr(self.fs, call.name)(**call.arguments))
            except ToolError:
                continue  # a generator bug: the executable gate redraws the task (the tests count those)
            self.seen.add(result)
            self.corpus.append(result)
            if call.name == "cd":
                folder = call.arguments["folder"]
                self.cwd = self.cwd[:-1] if folder == ".." else (*self.cwd, folder)


def entity_names(entries: Iterable[tuple[Path, str, Entry]], kind: str) -> list[str]:
    """The names of the entities of ``kind`` among walked ``entries``: every ``file``, ``dir`` or ``entry``, or
    with ``file:a/b`` the files right in folder a/b (what "the PDF in there" picks from)."""
    if kind.startswith("file:"):
        where = tuple(filter(None, kind.removeprefix("file:").split("/")))
        return [name for path, name, entry in entries if path == where and isinstance(entry, File)]
    want = {"file": File, "dir": Directory}.get(kind, Entry)
    return [name for _, name, entry in entries if isinstance(entry, want)]


def walk(root: Directory) -> Iterator[tuple[Path, str, Entry]]:
    """Every (folder, name, entry) under ``root``, depth first, in listing order (no recursion)."""
    stack: list[tuple[Path, Directory]] = [((), root)]
    while stack:
        path, node = stack.pop()
        subdirs = []
        for name, entry in node.contents.items():
            yield path, name, entry
            if isinstance(entry, Directory):
                subdirs.append(((*path, name), entry))
        stack.extend(reversed(subdirs))
