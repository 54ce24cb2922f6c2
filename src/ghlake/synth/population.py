"""Who exists: a skewed, seed-stable population of users, organisations and repositories.

Nothing is tabulated up front: every account and repository is a pure function
of ``(seed, index)`` built on demand and kept in a bounded cache, so a
population of millions costs no memory until it is used. Popularity follows a
Zipf-Mandelbrot law (a handful of very hot repositories and users, a long
tail), ids are bijections of the index (stable and unique), and logins and
repository names are built so that two indices can never share one.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from itertools import accumulate
from typing import NamedTuple

from ghlake.synth.config import MAX_ACCOUNTS, MAX_REPOSITORIES, SynthConfig
from ghlake.synth.text import (
    LANGUAGES,
    LICENSES,
    REPO_WORDS,
    description,
    email_host,
    obfuscate_email,
    person_name,
)

__all__ = ["Account", "Population", "Repo", "RepoDetails", "ZipfSampler", "details", "mix64"]

_MASK = (1 << 64) - 1
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_SYLLABLES = tuple(c + v for c in _CONSONANTS for v in _VOWELS)
_PAIRS = tuple(a + b for b in _SYLLABLES for a in _SYLLABLES)  # _PAIRS[d0 + 90 * d1]
_CACHE_LIMIT = 1 << 16
_USER_SUFFIXES = ("dev", "js", "hq", "io", "codes", "42", "x", "lab", "py", "99")
_ORG_SUFFIXES = ("-org", "labs", "-io", "hq", "-team", "", "-project", "soft", "-dev", "")
_LANGUAGE_NAMES = tuple(name for name, _ in LANGUAGES)
_LANGUAGE_CUMULATIVE = tuple(accumulate(weight for _, weight in LANGUAGES))
_LANGUAGE_TOTAL = _LANGUAGE_CUMULATIVE[-1]


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a cheap, well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


class ZipfSampler:
    """Draws ranks ``0..size-1`` with P(rank) ~ (rank + q) ** -s, in O(1) by inverting the CDF.

    The offset ``q`` flattens the head: the real hours have no single
    repository above ~1% of events, yet the top 1% hold a tenth or more.
    """

    __slots__ = ("_exponent", "_high", "_low", "_offset", "_size")

    def __init__(self, size: int, exponent: float = 0.95, offset: float = 10.0) -> None:
        if abs(1.0 - exponent) < 1e-6:  # the inverse CDF below has a pole at s = 1
            exponent = 1.0 - 1e-6
        self._size = size
        self._offset = offset
        self._exponent = 1.0 / (1.0 - exponent)
        self._low = offset ** (1.0 - exponent)
        self._high = (size + offset) ** (1.0 - exponent)

    def sample(self, rng: random.Random) -> int:
        """One rank; 0 is the most popular."""
        point = self._low + rng.random() * (self._high - self._low)
        return min(self._size - 1, max(0, int(point**self._exponent - self._offset)))


class Account(NamedTuple):
    """A user, organisation or bot account (a tuple: built by the thousand every hour)."""

    serial: int  # position in the population (users, then organisations; bots negative)
    id: int
    login: str
    kind: str  # "User", "Organization" or "Bot"
    display_login: str
    key: int  # the account's hash, from which its name and e-mail derive


class Repo(NamedTuple):
    """A repository: what nearly every event needs (the rest is in :func:`details`)."""

    rank: int
    id: int
    name: str
    full_name: str
    owner: Account
    org: Account | None
    max_number: int  # its highest issue / pull request number
    key: int  # the repository's hash, from which its details derive


class RepoDetails(NamedTuple):
    """What only full repository objects and new-repository events show."""

    description: str | None
    language: str | None
    license: tuple[str, str, str] | None
    homepage: str | None
    stars: int
    forks: int
    open_issues: int
    size: int
    age_days: int


def details(repo: Repo) -> RepoDetails:
    """A repository's descriptive attributes, derived on demand from its hash.

    Kept out of :class:`Repo` because nine events in ten never show them, and
    building them for every repository touched was a tenth of the run time.
    """
    # Two more hashes, 16 bits per uniform: cheaper than seeding a Random.
    bits_a, bits_b = mix64(repo.key ^ 0xA), mix64(repo.key ^ 0xB)
    heat = 1.0 / (repo.rank + 1) ** 0.85
    share = (bits_a & 0xFFFF) / 65536.0 * _LANGUAGE_TOTAL
    language = _LANGUAGE_NAMES[bisect_right(_LANGUAGE_CUMULATIVE, share)]
    has_license = (bits_a >> 16) & 0xFF < 115  # ~45%
    has_description = (bits_a >> 24) & 0xFF >= 31  # ~88%
    has_homepage = (bits_a >> 32) & 0xFF < 77  # ~30%
    spread = ((bits_b & 0xFF) + ((bits_b >> 8) & 0xFF) + ((bits_b >> 16) & 0xFF)) / 255.0
    return RepoDetails(
        description(mix64(bits_b), language) if has_description else None,
        language,
        LICENSES[(bits_a >> 40) % len(LICENSES)] if has_license else None,
        f"https://{repo.owner.login.lower()}.github.io" if has_homepage else None,
        int(60_000 * heat * ((bits_b >> 24) & 0xFFFF) / 65536.0) + (bits_a >> 48) % 3,
        int(12_000 * heat * ((bits_b >> 40) & 0xFF) / 256.0),
        int(2_000 * heat * ((bits_b >> 48) & 0xFF) / 256.0),
        int(math.exp(7.0 + 2.0 * (spread - 1.5) * 2.0)),
        1 + int((bits_a >> 50) % 2_500),
    )


# Real bot accounts that dominate modern hours; (login, id, first active epoch).
BOTS: tuple[tuple[str, int, int], ...] = (
    ("github-actions[bot]", 41898282, 1565222400),  # 2019-08-08
    ("dependabot[bot]", 49699333, 1558569600),  # 2019-05-23
    ("renovate[bot]", 29139614, 1496275200),  # 2017-06-01
)


class Population:
    """The accounts and repositories of one seed, with their popularity samplers."""

    def __init__(self, config: SynthConfig) -> None:
        self.config = config
        self.actors = config.actors
        self.organisations = config.organisations
        self.repositories = config.repositories
        self._key = mix64(config.seed ^ 0x5EED_C0DE)
        accounts = self.actors + self.organisations
        self._code_len = 3
        while len(_SYLLABLES) ** self._code_len < accounts:
            self._code_len += 1
        self._code_space: int = len(_SYLLABLES) ** self._code_len
        self._code_shift = mix64(self._key ^ 1) % self._code_space
        self._repo_shift = mix64(self._key ^ 2) % MAX_REPOSITORIES
        self._account_shift = mix64(self._key ^ 3) % MAX_ACCOUNTS
        self.repo_sampler = ZipfSampler(self.repositories)
        self.actor_sampler = ZipfSampler(self.actors)
        self._accounts: dict[int, Account] = {}
        self._identities: dict[int, tuple[str, str]] = {}
        self._repos: dict[int, Repo] = {}

    # -- accounts -----------------------------------------------------------------------------

    def _code(self, index: int) -> str:
        # An affine bijection modulo 90**k (the multiplier is prime to 2, 3 and 5),
        # written in base 90 with one syllable per digit: unique by construction.
        value: int = (index * 1_000_003 + self._code_shift) % self._code_space
        low: int
        value, low = divmod(value, len(_PAIRS))
        code = _PAIRS[low]
        for _ in range(self._code_len - 2):
            value, digit = divmod(value, len(_SYLLABLES))
            code += _SYLLABLES[digit]
        return code

    def account(self, index: int) -> Account:
        """Account ``index``: users are ``0..actors-1``, organisations follow."""
        found = self._accounts.get(index)
        if found is not None:
            return found
        if len(self._accounts) >= _CACHE_LIMIT:
            self._accounts.clear()
        hashed = mix64(self._key ^ (index << 1))
        code = self._code(index)
        is_org = index >= self.actors
        style = hashed % 10
        if is_org:
            login = code.capitalize() if style < 4 else code
            login += _ORG_SUFFIXES[(hashed >> 8) % len(_ORG_SUFFIXES)]
        elif style < 4:
            login = code
        elif style < 6:
            login = f"{code}{(hashed >> 12) % 10 ** (2 + style % 3)}"
        elif style < 8:
            login = code + _USER_SUFFIXES[(hashed >> 8) % len(_USER_SUFFIXES)]
        else:
            login = code.capitalize() + person_name(hashed)[1]
        # Account ids: an odd-multiplier bijection of [0, 2**24), shifted past 0.
        account_id = 1 + ((index * 0x9E3779B1 + self._account_shift) % MAX_ACCOUNTS)
        kind = "Organization" if is_org else "User"
        account = Account(index, account_id, login, kind, login, hashed)
        self._accounts[index] = account
        return account

    def org(self, number: int) -> Account:
        """Organisation ``number`` (``0..organisations-1``)."""
        return self.account(self.actors + number)

    def sample_actor(self, rng: random.Random) -> Account:
        """A user drawn by popularity (a few very active, most seen once an hour)."""
        return self.account(self.actor_sampler.sample(rng))

    def bots(self, at: int) -> tuple[Account, ...]:
        """The bot accounts active at epoch ``at``."""
        return tuple(
            Account(-1 - number, bot_id, login, "Bot", login.removesuffix("[bot]"), bot_id)
            for number, (login, bot_id, since) in enumerate(BOTS)
            if at >= since
        )

    def identity(self, account: Account) -> tuple[str, str]:
        """``(name, e-mail)`` a commit author shows, the e-mail obfuscated as GH Archive does.

        Computed on first use only: most accounts of an hour never author a commit.
        """
        found = self._identities.get(account.id)
        if found is not None:
            return found
        if len(self._identities) >= _CACHE_LIMIT:
            self._identities.clear()
        if account.kind == "Bot":
            local, host = f"{account.id}+{account.login}", "users.noreply.github.com"
            name = account.display_login
        else:
            first, last = person_name(account.key >> 20)
            choice = (account.key >> 40) % 3
            local = (account.login, f"{first}.{last}".lower(), f"{first[0]}{last}".lower())[choice]
            host = email_host(account.key >> 24)
            name = account.login if account.kind == "Organization" else f"{first} {last}"
        found = (name, obfuscate_email(local, host))
        self._identities[account.id] = found
        return found

    # -- repositories ---------------------------------------------------------------------

    def _repo_name(self, rank: int, hashed: int) -> str:
        # Base-|words| digits of the rank, one word per digit: the hottest repositories
        # get one-word names ("spark"), the tail compound ones; never two alike.
        words = []
        value = rank
        while True:
            value, digit = divmod(value, len(REPO_WORDS))
            words.append(REPO_WORDS[digit])
            if value == 0:
                break
            value -= 1
        if hashed & 3 == 0:
            words = [word.capitalize() for word in words]
        name = "-_."[(hashed >> 2) % 3 if (hashed >> 4) & 7 == 0 else 0].join(words)
        if (hashed >> 8) % 12 == 0:
            name += f"-{(hashed >> 12) % 100}"
        return name

    def repo(self, rank: int) -> Repo:
        """Repository of popularity rank ``rank`` (0 is the hottest)."""
        found = self._repos.get(rank)
        if found is not None:
            return found
        if len(self._repos) >= _CACHE_LIMIT:
            self._repos.clear()
        hashed = mix64(self._key ^ (rank << 1) ^ 1)
        org_share = 0.4 if rank < max(1, self.repositories // 100) else 0.18
        is_org = (hashed & 0xFFFF) / 0x10000 < org_share
        if is_org:
            owner = self.org((hashed >> 16) % self.organisations)
        else:
            owner = self.account((hashed >> 16) % self.actors)
        name = self._repo_name(rank, hashed >> 32)
        heat = 1.0 / (rank + 1) ** 0.6
        repo = Repo(
            rank,
            1 + ((rank * 0x2545F491 + self._repo_shift) % MAX_REPOSITORIES),
            name,
            f"{owner.login}/{name}",
            owner,
            owner if is_org else None,
            5 + int(40_000 * heat * (0.5 + ((hashed >> 56) & 0xFF) / 256.0)),
            hashed,
        )
        self._repos[rank] = repo
        return repo

    def sample_repo(self, rng: random.Random) -> Repo:
        """A repository drawn by popularity."""
        return self.repo(self.repo_sampler.sample(rng))

    def fresh_repo(self, rng: random.Random) -> Repo:
        """A repository from the tail, as brand-new repositories are."""
        low = self.repositories // 4
        return self.repo(low + int(rng.random() * (self.repositories - low)))

    def contributor(self, repo: Repo, rng: random.Random) -> Account:
        """Someone who works on ``repo``: its owner, or for an organisation one of its members."""
        if repo.org is None:
            return repo.owner if rng.random() < 0.95 else self.sample_actor(rng)
        # A few core members do most of the work; ranks 0..7, skewed towards 0.
        member = int(8 * rng.random() ** 2)
        return self.account(mix64(repo.org.id * 8 + member) % self.actors)
