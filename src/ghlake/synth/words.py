"""Constant word tables for the synthetic text.

Kept as blocks of text (split once at import) rather than one-string-per-line
literals, so the tables stay readable and the modules that use them short.
"""

from __future__ import annotations

__all__ = [
    "BRANCH_WORDS",
    "DIRS",
    "EMAIL_HOSTS",
    "EXTENSIONS",
    "FIRST_NAMES",
    "LANGUAGES",
    "LAST_NAMES",
    "LICENSES",
    "NOUNS",
    "PROSE",
    "REPO_WORDS",
    "VERBS",
]


def _words(block: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(block.split()))


def _phrases(block: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in block.split("|"))


_REPO_WORDS = """
    spark rails react vue node django flask kafka lake cloud api app web site blog docs dotfiles
    config tools utils core lib sdk cli bot engine server client parser compiler runtime kernel
    shell editor vim emacs theme plugin addon extension game demo sample example tutorial course
    homework lab project notes book wiki awesome list data dataset model ml ai nlp vision graph
    chart map geo stream queue cache store db sql orm schema migrate auth oauth login user admin
    dashboard portal shop cart pay wallet chain token crypto hash secure scan lint format test
    bench perf metrics monitor logs trace alert deploy infra terraform ansible docker k8s helm
    operator mesh proxy gateway router http grpc rest socket chat mail notify sms push mobile ios
    android flutter swift kotlin java scala go rust python ruby php perl haskell elixir clojure
    julia matlab arduino robot drone iot home music video audio image photo camera pdf ocr
    search index crawler scraper feed rss news weather calendar todo timer clock finance budget
    health fitness recipe travel school student resume portfolio landing starter boilerplate
    template kit seed scaffold generator builder loader bundler webpack babel eslint prettier
"""
REPO_WORDS = _words(_REPO_WORDS)
"""Repository name parts; no separators inside, so compound names stay unambiguous."""

_BRANCH_WORDS = """
    fix feature update refactor docs test bugfix hotfix patch cleanup bump add remove improve
    wip release issue
"""
BRANCH_WORDS = _words(_BRANCH_WORDS)

_FIRST_NAMES = """
    James Mary Wei Anna Luis Sofia Ivan Olga Ahmed Fatima Kenji Yuki Raj Priya Lucas Emma Noah
    Mia Chen Li Pedro Ana Tom Sarah David Laura Jakob Nina Omar Leila Marco Giulia Pierre Camille
    Hans Greta Sven Ingrid Kwame Amara Diego Elena Arjun
"""
FIRST_NAMES = _words(_FIRST_NAMES)

_LAST_NAMES = """
    Smith Wang Garcia Muller Ivanov Kim Tanaka Singh Silva Rossi Martin Brown Nguyen Lopez Chen
    Kowalski Novak Jensen Haddad Okafor Costa Dubois Schmidt Sato Patel Khan Moreau Fischer Berg
"""
LAST_NAMES = _words(_LAST_NAMES)

# Weighted like the real commit authors of the 2015 and 2021 hours (gmail.com dominates).
_EMAIL_HOSTS = """
    gmail.com gmail.com gmail.com gmail.com gmail.com gmail.com gmail.com hotmail.com qq.com
    yahoo.com 163.com outlook.com me.com mozilla.com example.org protonmail.com icloud.com
    users.noreply.github.com
"""
EMAIL_HOSTS = tuple(_EMAIL_HOSTS.split())

# Exactly 256 distinct words, so that a random byte string picks words without a Python loop.
_PROSE = """
    the a to of and in is it for this that with on be not we should can if when from as but
    have add fix update use now also make more test case error issue value file code function
    change support new build run version config data return type name list user set default
    check missing remove handle option path call method class module import output input
    string number array object null empty first last time page request response server client
    event message log debug warning crash bug broken works thanks please see below above
    behaviour expected actual result seems like maybe still after before again would could
    think because there which only other some about into than then them these those will just
    any all one two out up so no yes what how why where who our your their my its get got need
    needs want used using working does did done while since until without same different
    current previous next line lines field fields key keys table row rows query index cache
    memory disk network timeout retry failed failure success status codes release branch
    commit merge rebase patch diff review tests docs readme examples install package dependency
    dependencies upgrade downgrade python node java rust go ruby linux windows macos docker
    image container cluster service api endpoint token auth login logout session cookie header
    body json yaml xml html css script style layout button form click scroll window screen
    mobile browser chrome firefox safari performance slow fast faster leak thread lock race
    async await promise callback handler loop
"""
PROSE = _words(_PROSE)[:256]

_VERBS = """
    Fix | Add | Update | Remove | Refactor | Improve | Use | Handle | Support | Implement | Rename |
    Move | Clean up | Bump | Revert | Document | Allow
"""
VERBS = _phrases(_VERBS)

_NOUNS = """
    README | tests | build | parser | config | CI | docs | layout | login page | API client |
    error handling | dependencies | types | cache | logging | styles | CLI flags | Dockerfile |
    release notes | examples | translations | benchmarks
"""
NOUNS = _phrases(_NOUNS)

DIRS = ("src", "lib", "test", "tests", "docs", "app", "pkg", "cmd", "internal", "scripts")
EXTENSIONS = (".js", ".py", ".go", ".java", ".ts", ".rb", ".c", ".cpp", ".md", ".rs", ".php")

# Primary languages of active repositories, weighted roughly as GitHub's yearly reports.
LANGUAGES: tuple[tuple[str | None, float], ...] = (
    ("JavaScript", 20), ("Python", 14), ("Java", 10), (None, 9), ("TypeScript", 7), ("Go", 5),
    ("C++", 5), ("Ruby", 4), ("PHP", 5), ("C#", 4), ("C", 4), ("Shell", 3), ("HTML", 4),
    ("CSS", 3), ("Rust", 2), ("Swift", 1.5), ("Kotlin", 1.5), ("Scala", 1),
    ("Jupyter Notebook", 2),
)  # fmt: skip

LICENSES: tuple[tuple[str, str, str], ...] = (
    ("mit", "MIT License", "MIT"),
    ("apache-2.0", "Apache License 2.0", "Apache-2.0"),
    ("gpl-3.0", "GNU General Public License v3.0", "GPL-3.0"),
    ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License', "BSD-3-Clause"),
)
