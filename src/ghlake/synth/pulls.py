"""Pull requests, reviews and review comments, in each era's shape.

After the 2025-10-07 cut a pull request is a stub of ``url, id, number, head,
base`` (no body, merged flag or line counts) and reviews and review comments
lose ``author_association``. Before it, PullRequestEvent carries the full
object with its merge and line-count block, while review events carry the
same object without that block, as in the real files.
"""

from __future__ import annotations

from ghlake.synth import text
from ghlake.synth.context import HourContext
from ghlake.synth.items import labels
from ghlake.synth.objects import API, WEB, Json, node_id, stamp
from ghlake.synth.population import Account, Repo, details

__all__ = ["pull_request", "review", "review_comment"]

_BASE_REPO_CACHE = 4096


class _Pull:
    """What the parts of one pull request object must agree on."""

    __slots__ = (
        "action",
        "author",
        "base_url",
        "created",
        "from_fork",
        "number",
        "repo",
        "sha",
        "web",
    )

    def __init__(self, ctx: HourContext, repo: Repo, number: int, author: Account, action: str):
        self.repo = repo
        self.number = number
        self.author = author
        self.action = action
        self.base_url = f"{API}/repos/{repo.full_name}"
        self.web = f"{WEB}/{repo.full_name}/pull/{number}"
        self.sha = text.sha(ctx.rng)
        self.created = ctx.at if action == "opened" else ctx.at - ctx.age(30)
        # Pull requests from forks: 65% in the 2015 hour, 39% in the 2021 one.
        fork_share = 0.4 if ctx.shape.node_id else 0.65
        self.from_fork = ctx.rng.random() < fork_share and author.id != repo.owner.id


def pull_request(
    ctx: HourContext,
    repo: Repo,
    number: int,
    author: Account,
    *,
    action: str,
    full: bool,
    association: str,
    merger: Account,
) -> Json:
    """A ``pull_request`` object; ``full`` adds PullRequestEvent's merge/line-count block."""
    counters = ctx.counters
    pull_id = counters.next("pull") if action == "opened" else counters.past("pull", ctx.age(60))
    pull = _Pull(ctx, repo, number, author, action)
    if ctx.shape.trimmed:
        return _stub(ctx, pull, pull_id)
    merged = action == "closed" and ctx.rng.random() < 0.75
    obj = _header(ctx, pull, pull_id, merged)
    _refs(ctx, pull, obj)
    if ctx.shape.author_association:
        obj["author_association"] = association
    if ctx.shape.auto_merge:
        obj["auto_merge"] = None
    if ctx.shape.v2020:
        obj["active_lock_reason"] = None
    if full:
        _merge_block(ctx, pull, obj, merged, merger)
    return obj


def _stub(ctx: HourContext, pull: _Pull, pull_id: int) -> Json:
    """What the 2025 cut left: ``url, id, number`` and a three-field head/base repository."""
    repo = pull.repo
    head_id, head_name = repo.id, repo.full_name
    if pull.from_fork:
        head_id = ctx.counters.past("repo", ctx.age(24 * 200))
        head_name = f"{pull.author.login}/{repo.name}"

    def side(ref: str, repo_id: int, full_name: str) -> Json:
        """One of ``head``/``base``: the repository shrank to ``id, url, name``."""
        return {
            "ref": ref,
            "sha": text.sha(ctx.rng),
            "repo": {"id": repo_id, "url": f"{API}/repos/{full_name}", "name": repo.name},
        }

    return {
        "url": f"{pull.base_url}/pulls/{pull.number}",
        "id": pull_id,
        "number": pull.number,
        "head": side(text.branch_name(ctx.rng), head_id, head_name),
        "base": side(ctx.default_branch(repo), repo.id, repo.full_name),
    }


def _header(ctx: HourContext, pull: _Pull, pull_id: int, merged: bool) -> Json:
    """From ``url`` to ``statuses_url``: identity, text, dates and people."""
    shape, rng = ctx.shape, ctx.rng
    closed = pull.action == "closed"
    base_url, number, web = pull.base_url, pull.number, pull.web
    obj: Json = {"url": f"{base_url}/pulls/{number}", "id": pull_id}
    if shape.node_id:
        obj["node_id"] = node_id("PullRequest", pull_id)
    obj.update(
        html_url=web,
        diff_url=f"{web}.diff",
        patch_url=f"{web}.patch",
        issue_url=f"{base_url}/issues/{number}",
        number=number,
        state="closed" if closed else "open",
        locked=False,
        title=text.title(rng),
        user=ctx.objs.user(pull.author),
        body=text.body(rng, 30) if rng.random() < 0.85 else None,
        created_at=stamp(pull.created),
        updated_at=stamp(ctx.at),
        closed_at=stamp(ctx.at) if closed else None,
        merged_at=stamp(ctx.at) if merged else None,
        merge_commit_sha=None if pull.action == "opened" and not shape.v2017 else text.sha(rng),
        assignee=None,
    )
    if shape.v2016:
        obj["assignees"] = []
    if shape.v2017:
        obj["requested_reviewers"] = []
    if shape.node_id:
        obj["requested_teams"] = []
        obj["labels"] = labels(ctx, pull.repo)
    obj["milestone"] = None
    if shape.v2020:
        obj["draft"] = rng.random() < 0.08 and not closed
    obj["commits_url"] = f"{base_url}/pulls/{number}/commits"
    obj["review_comments_url"] = f"{base_url}/pulls/{number}/comments"
    obj["review_comment_url"] = (
        f"{base_url}/pulls/comments{{/number}}"
        if shape.v2017
        else f"{base_url}/pulls/comments/{{number}}"
    )
    obj["comments_url"] = f"{base_url}/issues/{number}/comments"
    obj["statuses_url"] = f"{base_url}/statuses/{pull.sha}"
    return obj


def _base_repo(ctx: HourContext, repo: Repo) -> Json:
    """The target repository's full object, built once per hour (busy repositories get many)."""
    objs = ctx.objs
    found = objs.base_repos.get(repo.id)
    if found is None:
        found = objs.repo_full(
            repo,
            repo.owner,
            repo.id,
            repo.full_name,
            fork=False,
            created=ctx.start - details(repo).age_days * 86400,
            updated=ctx.at - ctx.age(5),
            pushed=ctx.at - ctx.age(2),
            default_branch=ctx.default_branch(repo),
            forkee=False,
        )
        if len(objs.base_repos) >= _BASE_REPO_CACHE:
            objs.base_repos.clear()
        objs.base_repos[repo.id] = found
    return found


def _refs(ctx: HourContext, pull: _Pull, obj: Json) -> None:
    """``head``, ``base`` and ``_links``."""
    repo, author, objs = pull.repo, pull.author, ctx.objs
    base_repo = _base_repo(ctx, repo)
    head_owner, head_repo = repo.owner, base_repo
    if pull.from_fork:
        head_owner = author
        head_repo = objs.repo_full(
            repo,
            author,
            ctx.counters.past("repo", ctx.age(24 * 200)),
            f"{author.login}/{repo.name}",
            fork=True,
            created=pull.created - ctx.age(24),
            updated=pull.created,
            pushed=pull.created,
            default_branch=ctx.default_branch(repo),
            forkee=False,
        )
    head_ref = text.branch_name(ctx.rng)
    base_ref = ctx.default_branch(repo)
    obj["head"] = {
        "label": f"{head_owner.login}:{head_ref}",
        "ref": head_ref,
        "sha": pull.sha,
        "user": objs.user(head_owner),
        "repo": head_repo,
    }
    obj["base"] = {
        "label": f"{repo.owner.login}:{base_ref}",
        "ref": base_ref,
        "sha": text.sha(ctx.rng),
        "user": objs.user(repo.owner),
        "repo": base_repo,
    }
    base_url, number = pull.base_url, pull.number
    obj["_links"] = {
        "self": {"href": f"{base_url}/pulls/{number}"},
        "html": {"href": pull.web},
        "issue": {"href": f"{base_url}/issues/{number}"},
        "comments": {"href": f"{base_url}/issues/{number}/comments"},
        "review_comments": {"href": f"{base_url}/pulls/{number}/comments"},
        "review_comment": {"href": obj["review_comment_url"]},
        "commits": {"href": f"{base_url}/pulls/{number}/commits"},
        "statuses": {"href": f"{base_url}/statuses/{pull.sha}"},
    }


def _merge_block(ctx: HourContext, pull: _Pull, obj: Json, merged: bool, merger: Account) -> None:
    """``merged`` .. ``changed_files``: only PullRequestEvent carries them."""
    shape, rng = ctx.shape, ctx.rng
    closed = pull.action == "closed"
    mergeable = None if closed else (None, True, True, False)[int(rng.random() * 4)]
    obj["merged"] = merged
    obj["mergeable"] = mergeable
    if shape.v2017:
        obj["rebaseable"] = mergeable
    obj["mergeable_state"] = "unknown" if mergeable is None else "clean"
    obj["merged_by"] = ctx.objs.user(merger) if merged else None
    obj["comments"] = int(rng.expovariate(0.4))
    obj["review_comments"] = int(rng.expovariate(0.8))
    if shape.v2017:
        obj["maintainer_can_modify"] = pull.from_fork and rng.random() < 0.7
    obj["commits"] = 1 + int(rng.expovariate(0.5))
    obj["additions"] = int(rng.lognormvariate(3.5, 1.8))
    obj["deletions"] = int(rng.lognormvariate(2.5, 1.8))
    obj["changed_files"] = 1 + int(rng.expovariate(0.3))


def review(
    ctx: HourContext, repo: Repo, number: int, author: Account, *, association: str, commit: str
) -> Json:
    """A ``review`` of PullRequestReviewEvent (GH Archive carries them from 2020-08)."""
    rng = ctx.rng
    review_id = ctx.counters.next("review")
    pull = f"{API}/repos/{repo.full_name}/pulls/{number}"
    html = f"{WEB}/{repo.full_name}/pull/{number}#pullrequestreview-{review_id}"
    roll = rng.random()
    # Real 2021-2023 reviews: mostly comments and approvals.
    if roll < 0.55:
        state = "commented"
    elif roll < 0.9:
        state = "approved"
    elif roll < 0.97:
        state = "changes_requested"
    else:
        state = "dismissed"
    obj: Json = {
        "id": review_id,
        "node_id": node_id("PullRequestReview", review_id),
        "user": ctx.objs.user(author),
        "body": None if rng.random() < 0.6 else text.body(rng, 15),
        "commit_id": commit,
        "submitted_at": stamp(ctx.at),
        "state": state,
        "html_url": html,
        "pull_request_url": pull,
    }
    if not ctx.shape.trimmed:
        obj["author_association"] = association
    obj["_links"] = {"html": {"href": html}, "pull_request": {"href": pull}}
    return obj


def review_comment(
    ctx: HourContext, repo: Repo, number: int, author: Account, *, association: str, commit: str
) -> Json:
    """A ``comment`` of PullRequestReviewCommentEvent (a comment on a diff line)."""
    shape, rng = ctx.shape, ctx.rng
    comment_id = ctx.counters.next("review_comment")
    url = f"{API}/repos/{repo.full_name}/pulls/comments/{comment_id}"
    pull = f"{API}/repos/{repo.full_name}/pulls/{number}"
    html = f"{WEB}/{repo.full_name}/pull/{number}#discussion_r{comment_id}"
    position = text.between(rng, 1, 60)
    obj: Json = {"url": url}
    if shape.v2017:
        obj["pull_request_review_id"] = ctx.counters.next("review")
    obj["id"] = comment_id
    if shape.node_id:
        obj["node_id"] = node_id("PullRequestReviewComment", comment_id)
    obj["diff_hunk"] = text.diff_hunk(rng)
    obj["path"] = text.file_path(rng)
    if not shape.v2022:  # 2022+ moved the positions to the end
        obj["position"] = obj["original_position"] = position
    obj["commit_id"] = commit
    obj["original_commit_id"] = commit if rng.random() < 0.8 else text.sha(rng)
    obj["user"] = ctx.objs.user(author)
    obj["body"] = text.body(rng, 18)
    obj["created_at"] = obj["updated_at"] = stamp(ctx.at)
    obj["html_url"] = html
    obj["pull_request_url"] = pull
    if shape.author_association and not shape.trimmed:
        obj["author_association"] = association
    obj["_links"] = {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pull}}
    if shape.v2022:
        obj["reactions"] = ctx.objs.reactions(url)
    if shape.v2020:
        line = text.between(rng, 1, 900)
        obj.update(
            start_line=None,
            original_start_line=None,
            start_side=None,
            line=line,
            original_line=line,
            side="RIGHT",
        )
        if rng.random() < 0.4:
            obj["in_reply_to_id"] = comment_id - text.between(rng, 1, 5000)
    if shape.v2022:
        obj.update(original_position=position, position=position, subject_type="line")
    return obj
