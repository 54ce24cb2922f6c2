"""The query catalogue agrees with the SQL files, the service's routes, the client and the API.

Also snapshots of what a few entries bind: the exact ClickHouse parameters a request
becomes, defaults and the metric's choice of query included.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ghlake.api.routes import warehouse as forwarding
from ghlake.errors import InvalidInputError
from ghlake.settings import Settings
from ghlake.warehouse.client import WarehouseClient
from ghlake.warehouse.queries import (
    ACTOR_ACTIVITY,
    CATALOGUE,
    COUNTS_BY_SOURCE_HOUR,
    EVENT_TYPE_COUNTS,
    INGEST_ERRORS,
    PULL_REQUESTS_DAILY,
    REPOSITORY_ACTIVITY,
    TOP_REPOSITORIES,
    TRENDING_REPOSITORIES,
    BoundQuery,
    Query,
    named_query,
    query_names,
)
from ghlake.warehouse_api.app import create_warehouse_app
from tests.unit.asgi import in_process_client

# Values for the parameters that have no default.
REQUIRED = {"owner": "o", "name": "r", "login": "someone", "hours": ["2015-01-01-0"]}
SERVED = [q for q in CATALOGUE.values() if q.path is not None]


def _required(query: Query[Any]) -> dict[str, object]:
    return {p.name: REQUIRED[p.name] for p in query.params if p.required}


@pytest.fixture(scope="module")
def service_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The warehouse service's app; its lifespan (which opens the engine) is never run."""
    return create_warehouse_app(Settings(home=tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="module")
def forwarding_app() -> FastAPI:
    app = FastAPI()
    app.include_router(forwarding.router)
    return app


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every operation in the app's OpenAPI schema."""
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_every_sql_file_is_a_catalogue_entry() -> None:
    assert sorted(CATALOGUE) == query_names()
    assert all(name == query.name for name, query in CATALOGUE.items())


@pytest.mark.parametrize("query", CATALOGUE.values(), ids=list(CATALOGUE))
def test_an_entry_binds_exactly_the_placeholders_of_its_sql(query: Query[Any]) -> None:
    bound = query.bind(**_required(query))
    placeholders = set(re.findall(r"\{(\w+):", named_query(bound.name)))
    assert set(bound.params) == placeholders
    in_path = {p.name for p in query.params if p.in_path}
    assert set(re.findall(r"\{(\w+)\}", query.path or "")) == in_path


def test_every_catalogue_path_is_served_and_forwarded(
    service_app: FastAPI, forwarding_app: FastAPI
) -> None:
    served = _routes(service_app)
    paths = {("GET", q.path) for q in SERVED}
    assert paths <= served
    forwarded = {(method, path) for method, path, _ in forwarding.ROUTES}
    assert paths <= forwarded
    assert forwarded == _routes(forwarding_app)
    assert forwarded <= served, "the API forwards only what the service serves"
    assert {path for _, path in forwarded - paths} == {"/v1/sql", "/v1/migrations"}


@pytest.mark.parametrize("app_name", ["service", "forwarding"])
def test_both_openapi_schemas_document_every_parameter(
    app_name: str, service_app: FastAPI, forwarding_app: FastAPI
) -> None:
    app = service_app if app_name == "service" else forwarding_app
    paths = app.openapi()["paths"]
    for query in SERVED:
        assert query.path is not None
        documented = {p["name"]: p for p in paths[query.path]["get"].get("parameters", [])}
        assert list(documented) == [p.name for p in query.params], query.name
        for param in query.params:
            doc = documented[param.name]
            assert doc["in"] == ("path" if param.in_path else "query")
            assert doc.get("required", False) == param.required
            assert doc["description"] == param.doc
            if param.bounds:
                schema = json.dumps(doc["schema"])
                assert f'"minimum": {param.bounds[0]}' in schema, (query.name, param.name)
                assert f'"maximum": {param.bounds[1]}' in schema, (query.name, param.name)


class _Recorder:
    """A transport that answers every request with no rows and keeps what was asked."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"rows": []})


class _StubService:
    """Stands in for the WarehouseService: records what the routes ask it to run."""

    def __init__(self) -> None:
        self.ran: list[BoundQuery] = []

    def run(self, query: Query[Any], values: dict[str, object]) -> list[dict[str, Any]]:
        self.ran.append(query.bind(**values))
        return []

    def run_named(self, name: str, params: dict[str, object]) -> list[dict[str, Any]]:
        self.ran.append(BoundQuery(name, params))
        return []


def test_the_client_asks_each_query_where_the_service_serves_it(service_app: FastAPI) -> None:
    stub = _StubService()
    service_app.state.service = stub
    client = WarehouseClient("http://testserver", in_process_client(service_app))
    for query in CATALOGUE.values():
        assert client.query(query, **_required(query)) == [], query.name
    expected = [q.bind(**_required(q)) for q in CATALOGUE.values()]
    for ran, bound in zip(stub.ran, expected, strict=True):
        assert ran.name == bound.name
        # Computed defaults ("now") may tick between the two bindings.
        assert ran.params.keys() == bound.params.keys()
        assert {k: v for k, v in ran.params.items() if k not in ("since", "until")} == {
            k: v for k, v in bound.params.items() if k not in ("since", "until")
        }


def test_the_named_wrappers_send_what_they_did_before() -> None:
    recorder = _Recorder()
    client = WarehouseClient("http://w", httpx.Client(transport=httpx.MockTransport(recorder)))
    day, until = date(2015, 1, 1), datetime(2015, 1, 2)
    client.event_type_counts(datetime(2015, 1, 1), until)
    client.top_repositories("stars", day, date(2015, 1, 2), limit=5)
    client.trending_repositories(until, min_stars=0, limit=1000)
    client.active_actors(day, date(2015, 1, 2))
    client.pull_requests_daily(day, date(2015, 1, 2))
    client.ingest_errors(limit=10_000)
    assert client.counts_by_source_hour({"b", "a"}) == {}
    assert [str(r.url).removeprefix("http://w") for r in recorder.requests[:-1]] == [
        "/v1/event-types?since=2015-01-01T00%3A00%3A00&until=2015-01-02T00%3A00%3A00",
        "/v1/top-repositories?metric=stars&since=2015-01-01&until=2015-01-02&limit=5",
        "/v1/trending?until=2015-01-02T00%3A00%3A00&min_stars=0&limit=1000",
        "/v1/active-actors?since=2015-01-01&until=2015-01-02",
        "/v1/pull-requests?since=2015-01-01&until=2015-01-02&repo=",
        "/v1/ingest/errors?limit=10000",
    ]
    last = recorder.requests[-1]
    assert (last.method, last.url.path) == ("POST", "/v1/queries/counts_by_source_hour")
    assert json.loads(last.content) == {"params": {"hours": ["a", "b"]}}


def test_path_parameters_are_quoted() -> None:
    path, rest = ACTOR_ACTIVITY.request({"login": "a b/c", "limit": 3})
    assert (path, rest) == ("/v1/actors/a%20b%2Fc/activity", {"limit": 3})
    with pytest.raises(InvalidInputError, match="needs owner, name"):
        REPOSITORY_ACTIVITY.request({})


D0, D1 = date(2026, 1, 1), date(2026, 1, 31)
UNTIL = datetime(2026, 2, 20, 12)

SNAPSHOTS = [
    (
        TOP_REPOSITORIES.bind(metric="stars", since=D0, until=D1),
        BoundQuery("top_repositories", {"event_type": "WatchEvent", "count_actors": 1,
                   "since": "2026-01-01", "until": "2026-01-31", "limit": 10}),
    ),
    (
        TOP_REPOSITORIES.bind(metric="forks", since=D0, until=D1, limit=3),
        BoundQuery("top_repositories", {"event_type": "ForkEvent", "count_actors": 0,
                   "since": "2026-01-01", "until": "2026-01-31", "limit": 3}),
    ),
    (
        TOP_REPOSITORIES.bind(metric="pull_requests", until=D1),
        BoundQuery("top_repositories_pull_requests",
                   {"since": "2026-01-01", "until": "2026-01-31", "limit": 10}),
    ),
    (
        EVENT_TYPE_COUNTS.bind(
            since=datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
            until=datetime(2026, 1, 2),
        ),
        BoundQuery("event_type_counts",
                   {"since": "2026-01-01 10:00:00", "until": "2026-01-02 00:00:00"}),
    ),
    (
        TRENDING_REPOSITORIES.bind(until=UNTIL, min_stars=-3),
        BoundQuery("trending_repositories", {"until": "2026-02-20 12:00:00", "recent_hours": 24,
                   "baseline_days": 28, "min_account_age_days": 30, "min_stars": 0,
                   "limit": 20}),
    ),
    (
        ACTOR_ACTIVITY.bind(login="octocat", until=UNTIL),
        BoundQuery("actor_activity", {"actor": "octocat", "since": "2026-02-19 12:00:00",
                   "until": "2026-02-20 12:00:00", "limit": 1000}),
    ),
    (
        REPOSITORY_ACTIVITY.bind(owner="o", name="r", until=D1),
        BoundQuery("repository_activity",
                   {"repo": "o/r", "since": "2026-01-01", "until": "2026-01-31"}),
    ),
    (
        PULL_REQUESTS_DAILY.bind(since=D0, until=D1),
        BoundQuery("pull_requests_daily", {"since": "2026-01-01", "until": "2026-01-31",
                   "repo": ""}),
    ),
    (INGEST_ERRORS.bind(), BoundQuery("ingest_errors", {"limit": 100, "raw_chars": 2000})),
    (
        COUNTS_BY_SOURCE_HOUR.bind(hours=["2015-01-01-2", "2015-01-01-10"]),
        BoundQuery("counts_by_source_hour", {"hours": ["2015-01-01-10", "2015-01-01-2"]}),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("bound", "expected"), SNAPSHOTS, ids=[s[1].name for s in SNAPSHOTS])
def test_bound_parameters(bound: BoundQuery, expected: BoundQuery) -> None:
    assert bound == expected


def test_computed_defaults_follow_the_clock() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    params = EVENT_TYPE_COUNTS.bind().params
    until = datetime.strptime(str(params["until"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= until <= datetime.now(UTC)
    since = datetime.strptime(str(params["since"]), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert until - since == timedelta(days=1)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert TOP_REPOSITORIES.bind().params["until"] == tomorrow.isoformat()
    assert TOP_REPOSITORIES.bind().params["since"] == (tomorrow - timedelta(30)).isoformat()


@pytest.mark.parametrize(
    ("query", "values", "message"),
    [
        (TOP_REPOSITORIES, {"metric": "likes"}, "metric must be one of stars, forks, pushes, pull"),
        (TOP_REPOSITORIES, {"limit": 0}, r"limit must be 1\.\.10000, not 0"),
        (TOP_REPOSITORIES, {"since": D1, "until": D0}, "the window is empty"),
        (TOP_REPOSITORIES, {"since": date(2000, 1, 1), "until": D1}, "longer than 3660 days"),
        (EVENT_TYPE_COUNTS, {"since": UNTIL, "until": UNTIL}, "the window is empty"),
        (EVENT_TYPE_COUNTS, {"since": "yesterday"}, "since must be a datetime"),
        (EVENT_TYPE_COUNTS, {"limit": 5}, r"no parameter limit \(it takes since, until\)"),
        (TRENDING_REPOSITORIES, {"recent_hours": 0}, r"recent_hours must be 1\.\.744"),
        (TRENDING_REPOSITORIES, {"min_account_age_days": -1}, "min_account_age_days must be"),
        (ACTOR_ACTIVITY, {"login": ""}, "login must not be empty"),
        (COUNTS_BY_SOURCE_HOUR, {}, "hours is required"),
    ],
)
def test_bad_values_are_refused_with_the_reason(
    query: Query[Any], values: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        query.bind(**values)
