"""Issues, issue and commit comments, and releases, in each era's shape.

The 2025-10-07 cut removed ``author_association`` from these objects; it is
left out when ``shape.trimmed``. Pull requests and reviews live in pulls.py.
"""

from __future__ import annotations

from ghlake.synth import text
from ghlake.synth.context import HourContext
from ghlake.synth.objects import API, WEB, Json, node_id, stamp
from ghlake.synth.population import Account, Repo

__all__ = ["commit_comment", "issue", "issue_comment", "labels", "release"]

_LABELS = (
    ("bug", "d73a4a"),
    ("enhancement", "a2eeef"),
    ("question", "d876e3"),
    ("documentation", "0075ca"),
    ("help wanted", "008672"),
    ("dependencies", "0366d6"),
    ("good first issue", "7057ff"),
    ("wontfix", "ffffff"),
)


def labels(ctx: HourContext, repo: Repo) -> list[Json]:
    """Zero to two labels; most issues and pull requests carry none."""
    roll = ctx.rng.random()
    count = 0 if roll < 0.7 else 1 if roll < 0.93 else 2
    return [
        ctx.objs.label(repo, name, color, ctx.counters.past("label", ctx.age(24 * 400)))
        for name, color in ctx.rng.sample(_LABELS, count)
    ]


def issue(
    ctx: HourContext,
    repo: Repo,
    number: int,
    author: Account,
    *,
    state: str,
    created: int,
    closed: int | None,
    comments: int,
    is_pull: bool,
    association: str,
) -> Json:
    """An ``issue`` object (also used for the issue side of a pull request)."""
    shape, rng = ctx.shape, ctx.rng
    base = f"{API}/repos/{repo.full_name}/issues/{number}"
    obj: Json = {"url": base}
    if shape.v2016:
        obj["repository_url"] = f"{API}/repos/{repo.full_name}"
    obj["labels_url"] = f"{base}/labels{{/name}}"
    obj["comments_url"] = f"{base}/comments"
    obj["events_url"] = f"{base}/events"
    obj["html_url"] = f"{WEB}/{repo.full_name}/{'pull' if is_pull else 'issues'}/{number}"
    fresh = created >= ctx.at
    issue_id = ctx.counters.next("issue") if fresh else ctx.counters.past("issue", ctx.at - created)
    obj["id"] = issue_id
    if shape.node_id:
        obj["node_id"] = node_id("PullRequest" if is_pull else "Issue", issue_id)
    obj["number"] = number
    obj["title"] = text.title(rng)
    obj["user"] = ctx.objs.user(author)
    obj["labels"] = labels(ctx, repo)
    obj["state"] = state
    obj["locked"] = False
    obj["assignee"] = None
    if shape.v2016:
        obj["assignees"] = []
    obj["milestone"] = None
    obj["comments"] = comments
    obj["created_at"] = stamp(created)
    obj["updated_at"] = stamp(ctx.at)
    obj["closed_at"] = None if closed is None else stamp(closed)
    if shape.author_association and not shape.trimmed:
        obj["author_association"] = association
    if shape.v2020:
        obj["active_lock_reason"] = None
    if is_pull:
        if shape.v2022:
            obj["draft"] = False
        pull = f"{API}/repos/{repo.full_name}/pulls/{number}"
        web = f"{WEB}/{repo.full_name}/pull/{number}"
        obj["pull_request"] = {
            "url": pull,
            "html_url": web,
            "diff_url": f"{web}.diff",
            "patch_url": f"{web}.patch",
        }
        if shape.v2022:
            obj["pull_request"]["merged_at"] = None
    obj["body"] = text.body(rng, 40) if rng.random() < 0.9 else ("" if not shape.v2016 else None)
    if shape.v2022:
        obj["reactions"] = ctx.objs.reactions(base)
        obj["timeline_url"] = f"{base}/timeline"
    if shape.v2020:
        obj["performed_via_github_app"] = None
    if shape.v2022:
        obj["state_reason"] = "completed" if state == "closed" and not is_pull else None
    return obj


def issue_comment(
    ctx: HourContext, repo: Repo, number: int, author: Account, *, association: str, is_pull: bool
) -> Json:
    """A ``comment`` on an issue or a pull request's conversation."""
    shape = ctx.shape
    comment_id = ctx.counters.next("issue_comment")
    kind = "pull" if is_pull else "issues"
    obj: Json = {
        "url": f"{API}/repos/{repo.full_name}/issues/comments/{comment_id}",
        "html_url": f"{WEB}/{repo.full_name}/{kind}/{number}#issuecomment-{comment_id}",
        "issue_url": f"{API}/repos/{repo.full_name}/issues/{number}",
        "id": comment_id,
    }
    if shape.node_id:
        obj["node_id"] = node_id("IssueComment", comment_id)
    obj["user"] = ctx.objs.user(author)
    obj["created_at"] = obj["updated_at"] = stamp(ctx.at)
    if shape.author_association and not shape.trimmed:
        obj["author_association"] = association
    obj["body"] = text.body(ctx.rng, 22)
    if shape.v2022:
        obj["reactions"] = ctx.objs.reactions(obj["url"])
    if shape.v2020:
        obj["performed_via_github_app"] = None
    return obj


def commit_comment(ctx: HourContext, repo: Repo, author: Account, association: str) -> Json:
    """The ``comment`` of CommitCommentEvent."""
    shape = ctx.shape
    comment_id = ctx.counters.next("commit_comment")
    commit = text.sha(ctx.rng)
    obj: Json = {
        "url": f"{API}/repos/{repo.full_name}/comments/{comment_id}",
        "html_url": f"{WEB}/{repo.full_name}/commit/{commit}#commitcomment-{comment_id}",
        "id": comment_id,
    }
    if shape.node_id:
        obj["node_id"] = node_id("CommitComment", comment_id)
    obj.update(
        user=ctx.objs.user(author),
        position=None,
        line=None,
        path=None,
        commit_id=commit,
        created_at=stamp(ctx.at),
        updated_at=stamp(ctx.at),
    )
    if shape.author_association and not shape.trimmed:
        obj["author_association"] = association
    obj["body"] = text.body(ctx.rng, 12)
    if shape.v2022:
        obj["reactions"] = ctx.objs.reactions(obj["url"])
    return obj


def release(ctx: HourContext, repo: Repo, author: Account) -> Json:
    """The ``release`` of ReleaseEvent."""
    shape, rng = ctx.shape, ctx.rng
    release_id = ctx.counters.next("release")
    tag = ("v" if rng.random() < 0.7 else "") + text.version(rng)
    base = f"{API}/repos/{repo.full_name}/releases/{release_id}"
    roll = rng.random()
    name = "" if roll < 0.3 else tag if roll < 0.8 else f"Release {tag.lstrip('v')}"
    obj: Json = {
        "url": base,
        "assets_url": f"{base}/assets",
        "upload_url": (
            f"https://uploads.github.com/repos/{repo.full_name}/releases/{release_id}"
            f"/assets{{?name{',label' if shape.v2017 else ''}}}"
        ),
        "html_url": f"{WEB}/{repo.full_name}/releases/tag/{tag}",
        "id": release_id,
    }
    if shape.v2020:
        obj["author"] = ctx.objs.user(author)
    if shape.node_id:
        obj["node_id"] = node_id("Release", release_id)
    obj.update(tag_name=tag, target_commitish=ctx.default_branch(repo), name=name, draft=False)
    if not shape.v2020:
        obj["author"] = ctx.objs.user(author)
    obj.update(
        prerelease=rng.random() < 0.1,
        created_at=stamp(ctx.at - ctx.age(2)),
        published_at=stamp(ctx.at),
        assets=[],
        tarball_url=f"{API}/repos/{repo.full_name}/tarball/{tag}",
        zipball_url=f"{API}/repos/{repo.full_name}/zipball/{tag}",
        body=text.body(rng, 20) if rng.random() < 0.7 else "",
    )
    return obj
