"""The nested GitHub objects that payloads embed (users, repositories, issues, PRs, ...).

Key order follows the real files exactly, era by era (see :class:`Shape`), so
that byte-level consumers (dedup hashes, compression ratios, schema
inference) meet what they will meet in production.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from ghlake.synth.eras import Shape
from ghlake.synth.population import Account, Repo, RepoDetails, details

__all__ = ["API", "Json", "Objects", "node_id", "stamp"]

Json = dict[str, Any]
API = "https://api.github.com"
WEB = "https://github.com"
_CACHE_LIMIT = 1 << 15
_UNIX_DAY_ONE = date(1970, 1, 1).toordinal()

_REPO_URLS: tuple[tuple[str, str], ...] = (
    ("forks_url", "/forks"),
    ("keys_url", "/keys{/key_id}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("teams_url", "/teams"),
    ("hooks_url", "/hooks"),
    ("issue_events_url", "/issues/events{/number}"),
    ("events_url", "/events"),
    ("assignees_url", "/assignees{/user}"),
    ("branches_url", "/branches{/branch}"),
    ("tags_url", "/tags"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("trees_url", "/git/trees{/sha}"),
    ("statuses_url", "/statuses/{sha}"),
    ("languages_url", "/languages"),
    ("stargazers_url", "/stargazers"),
    ("contributors_url", "/contributors"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("commits_url", "/commits{/sha}"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("comments_url", "/comments{/number}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("contents_url", "/contents/{+path}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("merges_url", "/merges"),
    ("archive_url", "/{archive_format}{/ref}"),
    ("downloads_url", "/downloads"),
    ("issues_url", "/issues{/number}"),
    ("pulls_url", "/pulls{/number}"),
    ("milestones_url", "/milestones{/number}"),
    ("notifications_url", "/notifications{?since,all,participating}"),
    ("labels_url", "/labels{/name}"),
    ("releases_url", "/releases{/id}"),
)
_REPO_URL_KEYS = tuple(key for key, _ in _REPO_URLS)
_REPO_URL_SUFFIXES = tuple(suffix for _, suffix in _REPO_URLS)
_REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


def stamp(epoch: int) -> str:
    """GitHub's timestamp spelling, ``2015-01-01T01:00:02Z`` (twice as fast as strftime)."""
    days, seconds = divmod(epoch, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    day = date.fromordinal(days + _UNIX_DAY_ONE).isoformat()
    return f"{day}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"


def node_id(kind: str, number: int) -> str:
    """A legacy GraphQL node id, e.g. ``MDQ6VXNlcjE=`` for ``04:User1``."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


class Objects:
    """Builds the nested objects of one hour, caching the per-account ones."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self._users: dict[int, Json] = {}
        self._actors: dict[int, Json] = {}
        self._refs: dict[int, Json] = {}
        self.base_repos: dict[int, Json] = {}
        """Full objects of repositories receiving pull requests, reused within the hour."""
        self._avatar = "?v=4" if shape.v2017 else "?v=3"

    # -- accounts ----------------------------------------------------------------------------

    def actor_ref(self, account: Account) -> Json:
        """The top-level ``actor`` object."""
        found = self._actors.get(account.id)
        if found is None:
            if len(self._actors) >= _CACHE_LIMIT:
                self._actors.clear()
            found = {"id": account.id, "login": account.login}
            if self.shape.display_login:
                found["display_login"] = account.display_login
            found["gravatar_id"] = ""
            found["url"] = f"{API}/users/{account.login}"
            found["avatar_url"] = f"https://avatars.githubusercontent.com/u/{account.id}?"
            self._actors[account.id] = found
        return found

    def org_ref(self, org: Account) -> Json:
        """The top-level ``org`` object."""
        found = self._refs.get(-org.id)
        if found is None:
            found = {
                "id": org.id,
                "login": org.login,
                "gravatar_id": "",
                "url": f"{API}/orgs/{org.login}",
                "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?",
            }
            self._remember(self._refs, -org.id, found)
        return found

    @staticmethod
    def _remember(cache: dict[int, Json], key: int, value: Json) -> None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    def user(self, account: Account) -> Json:
        """A full user object (``user``, ``owner``, ``author``, ``member``, ...)."""
        found = self._users.get(account.id)
        if found is not None:
            return found
        if len(self._users) >= _CACHE_LIMIT:
            self._users.clear()
        login = account.login
        base = f"{API}/users/{login}"
        user: Json = {"login": login, "id": account.id}
        if self.shape.node_id:
            user["node_id"] = node_id(account.kind, account.id)
        user["avatar_url"] = f"https://avatars.githubusercontent.com/u/{account.id}{self._avatar}"
        user["gravatar_id"] = ""
        user["url"] = base
        user["html_url"] = f"{WEB}/{login}"
        user["followers_url"] = f"{base}/followers"
        user["following_url"] = f"{base}/following{{/other_user}}"
        user["gists_url"] = f"{base}/gists{{/gist_id}}"
        user["starred_url"] = f"{base}/starred{{/owner}}{{/repo}}"
        user["subscriptions_url"] = f"{base}/subscriptions"
        user["organizations_url"] = f"{base}/orgs"
        user["repos_url"] = f"{base}/repos"
        user["events_url"] = f"{base}/events{{/privacy}}"
        user["received_events_url"] = f"{base}/received_events"
        user["type"] = account.kind
        user["site_admin"] = False
        self._users[account.id] = user
        return user

    # -- repositories -------------------------------------------------------------------------

    def repo_ref(self, repo: Repo) -> Json:
        """The top-level ``repo`` object."""
        found = self._refs.get(repo.id)
        if found is None:
            found = {"id": repo.id, "name": repo.full_name, "url": f"{API}/repos/{repo.full_name}"}
            self._remember(self._refs, repo.id, found)
        return found

    def repo_full(
        self,
        repo: Repo,
        owner: Account,
        repo_id: int,
        full_name: str,
        *,
        fork: bool,
        created: int,
        updated: int,
        pushed: int,
        default_branch: str,
        forkee: bool,
    ) -> Json:
        """A full repository object (``forkee``, ``head.repo``, ``base.repo``)."""
        shape = self.shape
        base = f"{API}/repos/{full_name}"
        obj: Json = {"id": repo_id}
        if shape.node_id:
            obj["node_id"] = node_id("Repository", repo_id)
        obj["name"] = repo.name
        obj["full_name"] = full_name
        if shape.node_id:
            obj["private"] = False
            obj["owner"] = self.user(owner)
        else:
            obj["owner"] = self.user(owner)
            obj["private"] = False
        obj["html_url"] = f"{WEB}/{full_name}"
        about = details(repo)
        obj["description"] = about.description if about.description or shape.v2016 else ""
        obj["fork"] = fork
        obj["url"] = base
        obj.update(zip(_REPO_URL_KEYS, map(base.__add__, _REPO_URL_SUFFIXES), strict=True))
        if not shape.v2016:
            obj["issue_comment_url"] = f"{base}/issues/comments/{{number}}"
        else:
            obj["deployments_url"] = f"{base}/deployments"
        obj["created_at"] = stamp(created)
        obj["updated_at"] = stamp(updated)
        obj["pushed_at"] = stamp(pushed)
        obj["git_url"] = f"git://github.com/{full_name}.git"
        obj["ssh_url"] = f"git@github.com:{full_name}.git"
        obj["clone_url"] = f"{WEB}/{full_name}.git"
        obj["svn_url"] = f"{WEB}/{full_name}"
        self._repo_counts(obj, about, fresh=forkee)
        obj["default_branch"] = default_branch
        if forkee:
            obj["public"] = True
        return obj

    def _repo_counts(self, obj: Json, repo: RepoDetails, *, fresh: bool) -> None:
        """``homepage`` .. ``watchers``: sizes, counters and feature flags."""
        shape = self.shape
        obj["homepage"] = repo.homepage
        obj["size"] = repo.size
        stars = 0 if fresh else repo.stars
        obj["stargazers_count"] = stars
        obj["watchers_count"] = stars
        obj["language"] = None if fresh else repo.language
        obj["has_issues"] = not fresh
        if shape.v2017:
            obj["has_projects"] = True
        obj["has_downloads"] = True
        obj["has_wiki"] = True
        obj["has_pages"] = False
        if shape.v2022:
            obj["has_discussions"] = False
        forks = 0 if fresh else repo.forks
        issues = 0 if fresh else repo.open_issues
        obj["forks_count"] = forks
        obj["mirror_url"] = None
        if shape.node_id:
            obj["archived"] = False
            if shape.v2019:
                obj["disabled"] = False
        obj["open_issues_count"] = issues
        if shape.node_id:
            obj["license"] = self.license(repo)
        if shape.v2021:
            obj["allow_forking"] = True
            obj["is_template"] = False
            if shape.v2022:
                obj["web_commit_signoff_required"] = False
            obj["topics"] = []
            obj["visibility"] = "public"
        obj["forks"] = forks
        obj["open_issues"] = issues
        obj["watchers"] = stars

    @staticmethod
    def license(repo: RepoDetails) -> Json | None:
        """The ``license`` object of a repository, if it declares one."""
        if repo.license is None:
            return None
        key, name, spdx = repo.license
        return {
            "key": key,
            "name": name,
            "spdx_id": spdx,
            "url": f"{API}/licenses/{key}",
            "node_id": node_id("License", 13),
        }

    def label(self, repo: Repo, name: str, color: str, label_id: int) -> Json:
        """An issue or pull-request label."""
        shape = self.shape
        url = f"{API}/repos/{repo.full_name}/labels/{name}"
        if not shape.v2017:
            return {"url": url, "name": name, "color": color}
        obj: Json = {"id": label_id}
        if shape.node_id:
            obj["node_id"] = node_id("Label", label_id)
        obj["url"] = url
        obj["name"] = name
        obj["color"] = color
        obj["default"] = name in {"bug", "enhancement", "documentation", "question"}
        if shape.v2020:
            obj["description"] = None
        return obj

    @staticmethod
    def reactions(url: str) -> Json:
        """An all-zero ``reactions`` summary (most items have none)."""
        obj: Json = {"url": f"{url}/reactions", "total_count": 0}
        for name in _REACTIONS:
            obj[name] = 0
        return obj
