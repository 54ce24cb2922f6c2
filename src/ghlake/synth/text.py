"""Plausible free text: names, commit messages, titles, bodies, paths, e-mails.

Text dominates the size of real events (bodies and commit messages), so its
length distribution matters more than its meaning: lengths are log-normal
with a long tail, as in the real 2015 and 2021 hours.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence

from ghlake.synth.words import (
    BRANCH_WORDS,
    DIRS,
    EMAIL_HOSTS,
    EXTENSIONS,
    FIRST_NAMES,
    LANGUAGES,
    LAST_NAMES,
    LICENSES,
    NOUNS,
    PROSE,
    REPO_WORDS,
    VERBS,
)

__all__ = [
    "BRANCH_WORDS",
    "LANGUAGES",
    "LICENSES",
    "REPO_WORDS",
    "between",
    "body",
    "branch_name",
    "commit_message",
    "description",
    "diff_hunk",
    "email_host",
    "file_path",
    "obfuscate_email",
    "person_name",
    "pick",
    "sha",
    "title",
    "version",
]


def sha(rng: random.Random) -> str:
    """A random 40-hex-digit git object id."""
    return f"{rng.getrandbits(160):040x}"


def obfuscate_email(local: str, host: str) -> str:
    """GH Archive's rule: ``sha1(local part)@host`` (applied to every archived e-mail)."""
    return f"{hashlib.sha1(local.encode(), usedforsecurity=False).hexdigest()}@{host}"


def person_name(key: int) -> tuple[str, str]:
    """A stable (first, last) name for an account key."""
    return FIRST_NAMES[key % len(FIRST_NAMES)], LAST_NAMES[(key >> 8) % len(LAST_NAMES)]


def email_host(key: int) -> str:
    """A stable e-mail host for an account key, weighted like the real commit authors."""
    return EMAIL_HOSTS[(key >> 16) % len(EMAIL_HOSTS)]


def description(key: int, language: str | None) -> str:
    """A repository description, a stable function of ``key`` (no random stream needed)."""
    first = REPO_WORDS[key % len(REPO_WORDS)]
    second = REPO_WORDS[(key >> 10) % len(REPO_WORDS)]
    third = REPO_WORDS[(key >> 20) % len(REPO_WORDS)]
    style = (key >> 30) % 5
    if style == 0:
        return f"A {first} {second} for {third}"
    if style == 1 and language:
        return f"{first.capitalize()} {second} written in {language}"
    if style == 2:
        return f"My {first} {second}"
    if style == 3:
        return f"{first.capitalize()}: {second} and {third} tools"
    return f"{VERBS[(key >> 33) % len(VERBS)]} {second} {third} easily"


def pick(rng: random.Random, items: Sequence[str]) -> str:
    """``rng.choice`` without its Python-level overhead (this module runs per event)."""
    return items[int(rng.random() * len(items))]


def between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint(low, high)``, several times faster."""
    return low + int(rng.random() * (high - low + 1))


def _length(rng: random.Random, median: float, cap: int) -> int:
    return min(cap, max(1, int(median * math.exp(rng.gauss(0.0, 1.0)))))


def _words(rng: random.Random, count: int) -> str:
    return " ".join(map(PROSE.__getitem__, rng.randbytes(count)))


def body(rng: random.Random, median_words: float, cap: int = 600) -> str:
    """Comment / issue / PR prose; paragraphs joined with CRLF as GitHub's web editor does."""
    count = _length(rng, median_words, cap)
    if count < 40:
        return _words(rng, count).capitalize()
    paragraphs = []
    while count > 0:
        size = min(count, between(rng, 15, 60))
        paragraphs.append(_words(rng, size).capitalize() + ".")
        count -= size
    return "\r\n\r\n".join(paragraphs)


def title(rng: random.Random) -> str:
    """An issue or pull-request title."""
    style = rng.random()
    if style < 0.55:
        head = f"{pick(rng, VERBS)} {pick(rng, NOUNS)}"
        return f"{head} {_words(rng, between(rng, 1, 6))}" if rng.random() < 0.6 else head
    if style < 0.7:
        return f"Bump {pick(rng, REPO_WORDS)} from {version(rng)} to {version(rng)}"
    return _words(rng, between(rng, 3, 10)).capitalize()


def commit_message(rng: random.Random, repo_full_name: str) -> str:
    """A commit message; real ones are mostly one short line, some carry a long body."""
    style = rng.random()
    if style < 0.08:
        owner = repo_full_name.partition("/")[0]
        return (
            f"Merge pull request #{between(rng, 1, 3000)} from {owner}/{branch_name(rng)}"
            f"\n\n{title(rng)}"
        )
    if style < 0.14:
        return f"Update {pick(rng, REPO_WORDS)}{pick(rng, EXTENSIONS)}"
    line = title(rng) if style < 0.75 else _words(rng, between(rng, 1, 8))
    if rng.random() < 0.15:
        line += "\n\n" + body(rng, 25, 300)
    return line


def branch_name(rng: random.Random) -> str:
    """A topic branch name (``fix/parser-crash``, ``patch-3``, ``dependabot/...``)."""
    style = rng.random()
    if style < 0.2:
        return f"patch-{between(rng, 1, 40)}"
    if style < 0.3:
        return f"dependabot/npm_and_yarn/{pick(rng, REPO_WORDS)}-{version(rng)}"
    return f"{pick(rng, BRANCH_WORDS)}/{pick(rng, REPO_WORDS)}-{pick(rng, REPO_WORDS)}"


def version(rng: random.Random) -> str:
    """A semantic version such as ``2.13.1``."""
    rand = rng.random
    return f"{int(rand() * 6)}.{int(rand() * 21)}.{int(rand() * 13)}"


def file_path(rng: random.Random) -> str:
    """A source path inside a repository."""
    return (
        f"{pick(rng, DIRS)}/{pick(rng, REPO_WORDS)}/{pick(rng, REPO_WORDS)}{pick(rng, EXTENSIONS)}"
    )


def diff_hunk(rng: random.Random) -> str:
    """The unified-diff excerpt a review comment points at."""
    start = between(rng, 1, 900)
    lines = [f"@@ -{start},{between(rng, 3, 12)} +{start},{between(rng, 3, 14)} @@"]
    for _ in range(between(rng, 2, 8)):
        lines.append(pick(rng, "+- ") + "    " + _words(rng, between(rng, 2, 9)))
    return "\n".join(lines)
