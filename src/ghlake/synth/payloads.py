"""One payload builder per event type.

Each builder receives the event's :class:`Draft` (repository, actor, and
whether the actor works on that repository) and returns the ``payload``
object. A builder may swap the draft's repository or actor when the event
implies it: a CreateEvent for a new repository happens on a brand-new,
unpopular one, created by its owner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from ghlake.synth import items, pulls, text
from ghlake.synth.context import HourContext
from ghlake.synth.objects import API, WEB, Json
from ghlake.synth.population import Account, Repo, details

__all__ = ["BUILDERS", "INSIDER_SHARE", "Draft"]


class Draft:
    """The who and where of the event being generated."""

    __slots__ = ("actor", "insider", "repo")

    def __init__(self, repo: Repo, actor: Account, insider: bool) -> None:
        self.repo = repo
        self.actor = actor
        self.insider = insider


Builder = Callable[[HourContext, Draft], Json]

# Probability that the actor is the repository's owner or one of its members. Tuned so
# that, as in the real 2015 and 2021 hours, ~55-60% of events act on one's own repository.
INSIDER_SHARE: Mapping[str, float] = MappingProxyType(
    {
        "PushEvent": 0.97,
        "CreateEvent": 0.97,
        "DeleteEvent": 0.95,
        "WatchEvent": 0.0,
        "ForkEvent": 0.0,
        "IssueCommentEvent": 0.45,
        "IssuesEvent": 0.4,
        "PullRequestEvent": 0.45,
        "PullRequestReviewCommentEvent": 0.55,
        "PullRequestReviewEvent": 0.6,
        "CommitCommentEvent": 0.5,
        "GollumEvent": 0.7,
        "ReleaseEvent": 0.98,
        "MemberEvent": 1.0,
        "PublicEvent": 1.0,
    }
)


def _push_size(ctx: HourContext) -> int:
    # Real 2015/2021 pushes: 1 commit 82%, 2: 8%, 3: 2.7%, none 1.1%, 20+ 1.7%.
    roll = ctx.rng.random()
    if roll < 0.82:
        return 1
    if roll < 0.90:
        return 2
    if roll < 0.927:
        return 3
    if roll < 0.938:
        return 0
    if roll < 0.983:
        return 4 + int(ctx.rng.expovariate(0.25)) % 16
    return 20 + int(ctx.rng.expovariate(0.02))


def push(ctx: HourContext, draft: Draft) -> Json:
    """PushEvent: commits with obfuscated author e-mails, or the 2025 five-field stub."""
    rng, shape, repo = ctx.rng, ctx.shape, draft.repo
    roll = rng.random()
    branch = (
        ctx.default_branch(repo)
        if roll < 0.76
        else "gh-pages"
        if roll < 0.81
        else text.branch_name(rng)
    )
    ref = f"refs/heads/{branch}"
    before = text.sha(rng)
    push_id = ctx.counters.next("push")
    if shape.trimmed:
        head = text.sha(rng)
        return {
            "repository_id": repo.id,
            "push_id": push_id,
            "ref": ref,
            "head": head,
            "before": before,
        }
    size = _push_size(ctx)
    distinct = size if size == 0 or rng.random() < 0.95 else int(rng.random() * size)
    shown = min(size, 20)
    commits: list[Json] = []
    for position in range(shown):
        commit_sha = text.sha(rng)
        author = draft.actor if rng.random() < 0.85 else ctx.pop.sample_actor(rng)
        name, email = ctx.pop.identity(author)
        # {name, email} between mid-2016 and late 2021, {email, name} before and after.
        if shape.v2016 and not shape.v2021:
            who = {"name": name, "email": email}
        else:
            who = {"email": email, "name": name}
        commits.append(
            {
                "sha": commit_sha,
                "author": who,
                "message": text.commit_message(rng, repo.full_name),
                "distinct": position >= shown - distinct,
                "url": f"{API}/repos/{repo.full_name}/commits/{commit_sha}",
            }
        )
    head = commits[-1]["sha"] if commits else text.sha(rng)
    payload: Json = {"repository_id": repo.id} if shape.v2022 else {}
    payload.update(
        push_id=push_id,
        size=size,
        distinct_size=distinct,
        ref=ref,
        head=head,
        before=before,
        commits=commits,
    )
    return payload


def create(ctx: HourContext, draft: Draft) -> Json:
    """CreateEvent: a branch (49%), a new repository (39%) or a tag (12%)."""
    rng = ctx.rng
    roll = rng.random()
    ref: str | None
    if roll < 0.39:
        ref_type, ref = "repository", None
        draft.repo = ctx.pop.fresh_repo(rng)
        draft.actor = ctx.pop.contributor(draft.repo, rng)
    elif roll < 0.88:
        ref_type, ref = "branch", text.branch_name(rng)
    else:
        ref_type, ref = "tag", ("v" if rng.random() < 0.7 else "") + text.version(rng)
    repo = draft.repo
    return {
        "ref": ref,
        "ref_type": ref_type,
        "master_branch": ctx.default_branch(repo),
        "description": details(repo).description,
        "pusher_type": "user",
    }


def delete(ctx: HourContext, draft: Draft) -> Json:
    """DeleteEvent: mostly merged topic branches."""
    if ctx.rng.random() < 0.91:
        return {"ref": text.branch_name(ctx.rng), "ref_type": "branch", "pusher_type": "user"}
    return {"ref": "v" + text.version(ctx.rng), "ref_type": "tag", "pusher_type": "user"}


def watch(ctx: HourContext, draft: Draft) -> Json:
    """WatchEvent (a star): the payload never says more than ``started``."""
    return {"action": "started"}


def fork(ctx: HourContext, draft: Draft) -> Json:
    """ForkEvent: the new repository, owned by the actor."""
    repo, actor = draft.repo, draft.actor
    forkee = ctx.objs.repo_full(
        repo,
        actor,
        ctx.counters.next("repo"),
        f"{actor.login}/{repo.name}",
        fork=True,
        created=ctx.at,
        updated=ctx.at - ctx.age(48),
        pushed=ctx.at - ctx.age(24),
        default_branch=ctx.default_branch(repo),
        forkee=True,
    )
    return {"forkee": forkee}


def _number(ctx: HourContext, repo: Repo) -> int:
    # Recent issues and PRs are the active ones: numbers cluster near the repository's top.
    return max(1, repo.max_number - int(ctx.rng.expovariate(4.0 / repo.max_number)))


def _someone(ctx: HourContext, draft: Draft) -> Account:
    """The author of the issue or PR the actor reacts to."""
    roll = ctx.rng.random()
    if roll < 0.3:
        return draft.actor
    if roll < 0.55:
        return ctx.pop.contributor(draft.repo, ctx.rng)
    return ctx.pop.sample_actor(ctx.rng)


def issue_comment(ctx: HourContext, draft: Draft) -> Json:
    """IssueCommentEvent: the issue (a third are pull requests) and the new comment."""
    rng, repo = ctx.rng, draft.repo
    is_pull = rng.random() < 0.34
    number = _number(ctx, repo)
    author = _someone(ctx, draft)
    created = ctx.at - ctx.age(48)
    closed = rng.random() < 0.2
    issue = items.issue(
        ctx,
        repo,
        number,
        author,
        state="closed" if closed else "open",
        created=created,
        closed=max(created, ctx.at - ctx.age(6)) if closed else None,
        comments=1 + int(rng.expovariate(0.25)),
        is_pull=is_pull,
        association=ctx.association(repo, author, False),
    )
    association = ctx.association(repo, draft.actor, draft.insider)
    comment = items.issue_comment(
        ctx, repo, number, draft.actor, association=association, is_pull=is_pull
    )
    return {"action": "created", "issue": issue, "comment": comment}


def issues(ctx: HourContext, draft: Draft) -> Json:
    """IssuesEvent: opened 64%, closed 35%, reopened 1% (as in the real hours)."""
    rng, repo = ctx.rng, draft.repo
    roll = rng.random()
    action = "opened" if roll < 0.64 else "closed" if roll < 0.99 else "reopened"
    author = draft.actor if action == "opened" else _someone(ctx, draft)
    created = ctx.at if action == "opened" else ctx.at - ctx.age(24 * 7)
    number = repo.max_number if action == "opened" else _number(ctx, repo)
    issue = items.issue(
        ctx,
        repo,
        number,
        author,
        state="closed" if action == "closed" else "open",
        created=created,
        closed=ctx.at if action == "closed" else None,
        comments=0 if action == "opened" else int(rng.expovariate(0.3)),
        is_pull=False,
        association=ctx.association(repo, author, author is draft.actor and draft.insider),
    )
    return {"action": action, "issue": issue}


def pull_request(ctx: HourContext, draft: Draft) -> Json:
    """PullRequestEvent; after the 2025 cut, ``merged`` is its own action and the PR a stub."""
    rng, repo = ctx.rng, draft.repo
    roll = rng.random()
    if ctx.shape.trimmed:
        action = (
            "opened"
            if roll < 0.45
            else "merged"
            if roll < 0.79
            else "closed"
            if roll < 0.99
            else "reopened"
        )
    else:
        action = "opened" if roll < 0.54 else "closed" if roll < 0.99 else "reopened"
    author = draft.actor if action == "opened" else _someone(ctx, draft)
    number = repo.max_number if action == "opened" else _number(ctx, repo)
    pull = pulls.pull_request(
        ctx,
        repo,
        number,
        author,
        action=action,
        full=True,
        association=ctx.association(repo, author, author is draft.actor and draft.insider),
        merger=draft.actor,
    )
    return {"action": action, "number": number, "pull_request": pull}


def _reviewed_pull(ctx: HourContext, draft: Draft) -> tuple[int, Json]:
    number = _number(ctx, draft.repo)
    author = ctx.pop.sample_actor(ctx.rng)
    pull = pulls.pull_request(
        ctx,
        draft.repo,
        number,
        author,
        action="synchronize",
        full=False,
        association=ctx.association(draft.repo, author, False),
        merger=draft.actor,
    )
    return number, pull


def review_comment(ctx: HourContext, draft: Draft) -> Json:
    """PullRequestReviewCommentEvent: a comment on a diff line, with its pull request."""
    number, pull = _reviewed_pull(ctx, draft)
    comment = pulls.review_comment(
        ctx,
        draft.repo,
        number,
        draft.actor,
        association=ctx.association(draft.repo, draft.actor, draft.insider),
        commit=pull["head"]["sha"],
    )
    return {"action": "created", "comment": comment, "pull_request": pull}


def review(ctx: HourContext, draft: Draft) -> Json:
    """PullRequestReviewEvent (GH Archive carries it from 2020-08)."""
    number, pull = _reviewed_pull(ctx, draft)
    body = pulls.review(
        ctx,
        draft.repo,
        number,
        draft.actor,
        association=ctx.association(draft.repo, draft.actor, draft.insider),
        commit=pull["head"]["sha"],
    )
    return {"action": "created", "review": body, "pull_request": pull}


def commit_comment(ctx: HourContext, draft: Draft) -> Json:
    """CommitCommentEvent: only the comment (the commit is named by ``commit_id``)."""
    association = ctx.association(draft.repo, draft.actor, draft.insider)
    return {"comment": items.commit_comment(ctx, draft.repo, draft.actor, association)}


def gollum(ctx: HourContext, draft: Draft) -> Json:
    """GollumEvent: wiki pages edited (rarely created), almost always one per event."""
    rng = ctx.rng
    pages = []
    for _ in range(1 if rng.random() < 0.99 else text.between(rng, 2, 12)):
        words = rng.sample(text.REPO_WORDS, text.between(rng, 1, 3))
        page = "-".join(word.capitalize() for word in words)
        pages.append(
            {
                "page_name": page,
                "title": page.replace("-", " "),
                "summary": None,
                "action": "edited" if rng.random() < 0.89 else "created",
                "sha": text.sha(rng),
                "html_url": f"{WEB}/{draft.repo.full_name}/wiki/{page}",
            }
        )
    return {"pages": pages}


def release(ctx: HourContext, draft: Draft) -> Json:
    """ReleaseEvent: GH Archive only ever shows ``published``."""
    return {"action": "published", "release": items.release(ctx, draft.repo, draft.actor)}


def member(ctx: HourContext, draft: Draft) -> Json:
    """MemberEvent: a collaborator added by the owner (key order: member, then action)."""
    added = ctx.pop.sample_actor(ctx.rng)
    return {"member": ctx.objs.user(added), "action": "added"}


def public(ctx: HourContext, draft: Draft) -> Json:
    """PublicEvent: a repository made public; the payload is empty."""
    return {}


BUILDERS: Mapping[str, Builder] = MappingProxyType(
    {
        "PushEvent": push,
        "CreateEvent": create,
        "DeleteEvent": delete,
        "WatchEvent": watch,
        "ForkEvent": fork,
        "IssueCommentEvent": issue_comment,
        "IssuesEvent": issues,
        "PullRequestEvent": pull_request,
        "PullRequestReviewCommentEvent": review_comment,
        "PullRequestReviewEvent": review,
        "CommitCommentEvent": commit_comment,
        "GollumEvent": gollum,
        "ReleaseEvent": release,
        "MemberEvent": member,
        "PublicEvent": public,
    }
)
