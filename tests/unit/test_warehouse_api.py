"""The warehouse service's HTTP edge on a real chDB (no Kafka pipeline), called in-process.

Status codes by kind: a bad value 400 with the reason, a malformed request 422 (FastAPI's
validation), a statement the engine refused 422, no token 401; answers as ``{"rows": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import httpx
import pytest

from ghlake.errors import InvalidInputError, WarehouseError
from ghlake.settings import Settings
from ghlake.warehouse.client import WarehouseClient
from ghlake.warehouse.engine import ChdbEngine
from ghlake.warehouse.queries import (
    ACTOR_ACTIVITY,
    INGEST_PROGRESS,
    REPOSITORY_ACTIVITY,
)
from ghlake.warehouse.rows import (
    EventTypeCount,
    PartitionProgress,
    RepositoryDay,
    RepositoryRank,
)
from ghlake.warehouse.service import WarehouseService
from ghlake.warehouse_api.app import create_warehouse_app
from tests.unit.asgi import in_process_client

EVENTS = (
    "INSERT INTO github_events (event_type, actor_login, repo_name, created_at, event_id, "
    "repo_id, event_key, source_hour) VALUES "
    "('WatchEvent', 'ann', 'o/r', '2015-01-01 01:00:00', 1, 10, 1, '2015-01-01-1'), "
    "('WatchEvent', 'bob', 'o/r', '2015-01-01 01:05:00', 2, 10, 2, '2015-01-01-1'), "
    "('PushEvent', 'ann', 'o/r', '2015-01-01 01:10:00', 3, 10, 3, '2015-01-01-1'), "
    "('ForkEvent', 'cid', 'o/s', '2015-01-01 02:00:00', 4, 11, 4, '2015-01-01-2')"
)
DAY, NEXT_DAY = date(2015, 1, 1), date(2015, 1, 2)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"))


# chDB allows one session per process: the module shares one and closes it at the end.
@pytest.fixture(scope="module")
def http(settings: Settings) -> Iterator[httpx.Client]:
    service = WarehouseService(ChdbEngine(settings.warehouse_path), settings, pipeline=False)
    try:
        service.migrate()
        service.engine.execute(EVENTS)
        app = create_warehouse_app(settings)
        app.state.service = service  # the lifespan would open the path and the Kafka pipeline
        with in_process_client(app) as client:
            yield client
    finally:
        service.close()


@pytest.fixture(scope="module")
def client(http: httpx.Client, settings: Settings) -> WarehouseClient:
    return WarehouseClient("http://testserver", http, token=settings.api_token)


def test_dashboard_queries_read_typed_rows(client: WarehouseClient) -> None:
    assert client.event_type_counts(datetime(2015, 1, 1), datetime(2015, 1, 2)) == [
        EventTypeCount("WatchEvent", 2),
        EventTypeCount("ForkEvent", 1),
        EventTypeCount("PushEvent", 1),
    ]
    assert client.top_repositories("stars", DAY, NEXT_DAY) == [RepositoryRank("o/r", 10, 2)]
    activity = client.query(REPOSITORY_ACTIVITY, owner="o", name="r", since=DAY, until=NEXT_DAY)
    assert activity == [
        RepositoryDay("2015-01-01", "PushEvent", 1, 1),
        RepositoryDay("2015-01-01", "WatchEvent", 2, 2),
    ]
    since, until = datetime(2015, 1, 1, 1, 5), datetime(2015, 1, 2)
    [ann] = client.query(ACTOR_ACTIVITY, login="ann", since=since, until=until)
    assert (ann.event_type, ann.repo_name, ann.events) == ("PushEvent", "o/r", 1)
    assert client.counts_by_source_hour(["2015-01-01-1", "2015-01-01-2", "x"]) == {
        "2015-01-01-1": 3,
        "2015-01-01-2": 1,
    }
    assert client.query(INGEST_PROGRESS) == [PartitionProgress(0, 0, 4)]
    assert client.ingest_errors() == []


def test_answers_are_rows_and_defaults_apply(http: httpx.Client) -> None:
    answer = http.get("/v1/event-types")
    assert (answer.status_code, answer.json()) == (200, {"rows": []})
    window = {"since": "2015-01-01T00:00:00Z", "until": "2015-01-02T00:00:00Z"}
    answer = http.get("/v1/event-types", params=window)
    assert answer.json()["rows"][0] == {"event_type": "WatchEvent", "events": 2}
    forks = http.get("/v1/top-repositories", params={"metric": "forks", "until": "2015-01-02"})
    assert forks.json() == {"rows": [{"repo_name": "o/s", "repo_id": 11, "value": 1}]}


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        ("/v1/top-repositories", {"metric": "likes"}, 400, "metric must be one of"),
        ("/v1/top-repositories", {"limit": 0}, 400, "limit must be 1..10000, not 0"),
        ("/v1/ingest/errors", {"limit": 10_001}, 400, "limit must be 1..10000"),
        ("/v1/trending", {"recent_hours": 0}, 400, "recent_hours must be 1..744"),
        ("/v1/active-actors", {"since": "2015-01-02", "until": "2015-01-01"}, 400, "is empty"),
        ("/v1/top-repositories", {"limit": "ten"}, 422, "valid integer"),
        ("/v1/event-types", {"since": "yesterday"}, 422, "valid datetime"),
    ],
)
def test_bad_values_answer_by_kind(
    http: httpx.Client, path: str, params: dict[str, str | int], status: int, detail: str
) -> None:
    answer = http.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert detail in answer.text


def test_queries_by_name_bind_as_given_and_engine_refusals_are_422(
    http: httpx.Client, client: WarehouseClient
) -> None:
    rows = client.named("top_repositories_pull_requests", {"since": "2015-01-01",
                        "until": "2015-01-02", "limit": 5})  # fmt: skip
    assert rows == []
    refused = http.post("/v1/queries/event_type_counts", json={"params": {"since": "soon"}})
    assert refused.status_code == 422, refused.text
    with pytest.raises(WarehouseError):
        client.named("event_type_counts", {"since": "soon"})
    with pytest.raises(InvalidInputError, match="no named query"):
        client.named("drop_everything")


def test_sql_needs_the_token_and_refusals_are_counted(
    http: httpx.Client, client: WarehouseClient, settings: Settings
) -> None:
    assert http.post("/v1/sql", json={"sql": "SELECT 1"}).status_code == 401
    assert client.sql("SELECT count() AS n FROM github_events").rows == [[4]]
    with pytest.raises(InvalidInputError, match="Syntax error"):
        client.sql("DROP TABLE github_events")
    metrics = http.get("/metrics").text
    assert "ghlake_warehouse_sql_refused_total 1.0" in metrics
    assert 'ghlake_warehouse_rows{table="github_events"} 4.0' in metrics


def test_health_and_migrations(http: httpx.Client, client: WarehouseClient) -> None:
    health = http.get("/healthz").json()
    assert (health["status"], health["tables"]["github_events"]) == ("ok", 4)
    assert all(m["applied_at"] for m in client.migrations())
    assert http.post("/v1/migrate").status_code == 401
    assert client.migrate()["applied"] == []
