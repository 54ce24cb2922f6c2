"""ClickHouse's HTTP interface of the warehouse service, on the real stack.

Clients: clickhouse-connect (``get_client`` on the port) and raw HTTP for each format and
error case. Results are compared with the named queries of the JSON routes.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import clickhouse_connect
import cramjam
import httpx
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from ghlake.events.provenance import Provenance
from ghlake.platform import Platform
from ghlake.settings import DEV_ADMIN_PASSWORD, DEV_ANALYST_PASSWORD
from ghlake.warehouse.framing import compress_blocks, decompress_blocks
from ghlake.warehouse.queries import named_query
from tests.conftest import event_line, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LABEL = "clickhouse-http-2026"
WINDOW = datetime(2026, 3, 4, 5)


def _event(kind: str, number: int, at: datetime, actor: str, repo: str) -> bytes:
    return event_line(kind, number, at, actor, repo, ids=(9_300_000_000, 60_000_000, 88_000_000))


@pytest.fixture(scope="module")
def events(platform: Platform) -> int:
    """A few stars, pushes and forks in a known window, in the warehouse."""
    kinds = ["WatchEvent"] * 12 + ["PushEvent"] * 7 + ["ForkEvent"] * 3
    lines = [
        _event(kind, i, WINDOW + timedelta(minutes=i), f"user{i % 5}", f"ch/repo{i % 3}")
        for i, kind in enumerate(kinds)
    ]
    platform.publisher().publish_lines(lines, Provenance("gharchive", LABEL, ""))
    wait_for(lambda: platform.warehouse.counts_by_source_hour([LABEL]) == {LABEL: len(lines)}, 120)
    return len(lines)


@pytest.fixture(scope="module")
def url(platform: Platform) -> str:
    return platform.settings.warehouse.http_url


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def client(platform: Platform) -> Iterator[Client]:
    """clickhouse-connect with no user or password: dev mode's read-only ``default``."""
    port = platform.settings.warehouse.http_port
    client = clickhouse_connect.get_client(host="127.0.0.1", port=port)
    yield client
    client.close()


def test_ping_and_root_answer_ok(http: httpx.Client) -> None:
    for path in ("/", "/ping"):
        response = http.get(path)
        assert (response.status_code, response.text) == (200, "Ok.\n")


def test_clickhouse_connect_lands_in_ghlakes_database_and_binds_parameters(
    client: Client, events: int
) -> None:
    assert client.command("SELECT currentDatabase()") == "ghlake"
    result = client.query(
        "SELECT count() FROM github_events FINAL WHERE repo_name = {repo:String}",
        parameters={"repo": "ch/repo1"},
    )
    assert result.result_rows == [(sum(1 for i in range(events) if i % 3 == 1),)]
    frame = client.query_df(
        "SELECT number, toString(number) AS s FROM numbers({n:UInt32})", parameters={"n": 5}
    )
    assert list(frame["number"]) == [0, 1, 2, 3, 4]
    table = client.query_arrow("SELECT number * 2 AS twice FROM numbers(3)")
    assert table.column("twice").to_pylist() == [0, 2, 4]


def test_results_equal_the_named_queries(platform: Platform, client: Client, events: int) -> None:
    since, until = WINDOW, WINDOW + timedelta(hours=1)
    named = platform.warehouse.event_type_counts(since, until)
    stamps = {
        "since": since.strftime("%Y-%m-%d %H:%M:%S"),
        "until": until.strftime("%Y-%m-%d %H:%M:%S"),
    }
    rows = client.query(named_query("event_type_counts"), parameters=stamps).result_rows
    assert [(r.event_type, r.events) for r in named] == [tuple(row) for row in rows]
    assert sum(count for _, count in rows) == events


def test_published_github_events_queries_run_unchanged(client: Client, events: int) -> None:
    """A few of ClickHouse's published GitHub Events queries, table names unqualified."""
    stars = client.query(
        "SELECT repo_name, count() AS stars FROM github_events WHERE event_type = 'WatchEvent' "
        "GROUP BY repo_name ORDER BY stars DESC LIMIT 50"
    ).result_rows
    assert stars
    years = client.query(
        "SELECT toYear(created_at) AS year, count() AS stars FROM github_events "
        "WHERE event_type = 'WatchEvent' GROUP BY year ORDER BY year"
    ).result_rows
    assert 2026 in [year for year, _ in years]
    authors = client.query(
        "SELECT actor_login, count() AS c, uniq(repo_name) AS repos FROM github_events "
        "WHERE event_type = 'PushEvent' GROUP BY actor_login ORDER BY c DESC LIMIT 10"
    ).result_rows
    assert authors
    total = client.command("SELECT count() FROM github_events WHERE event_type = 'ForkEvent'")
    assert int(total) >= 3


FORMATS = [
    "TabSeparated", "TabSeparatedWithNames", "TabSeparatedWithNamesAndTypes", "CSVWithNames",
    "JSON", "JSONCompact", "JSONEachRow", "Parquet", "Arrow", "Native",
    "RowBinaryWithNamesAndTypes",
]  # fmt: skip
SQL = "SELECT number AS n, toString(number) AS s FROM numbers(3)"


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_output_format_comes_from_the_engine(http: httpx.Client, fmt: str) -> None:
    response = http.post("/", params={"default_format": fmt}, content=SQL)
    assert response.status_code == 200, response.text
    assert response.headers["X-ClickHouse-Format"] == fmt
    body = response.content
    if fmt == "TabSeparated":
        assert body == b"0\t0\n1\t1\n2\t2\n"
    elif fmt == "TabSeparatedWithNames":
        assert body.splitlines()[0] == b"n\ts"
    elif fmt == "TabSeparatedWithNamesAndTypes":
        assert body.splitlines()[:2] == [b"n\ts", b"UInt64\tString"]
    elif fmt == "CSVWithNames":
        assert body == b'"n","s"\n0,"0"\n1,"1"\n2,"2"\n'
    elif fmt == "JSON":
        assert orjson.loads(body)["data"][2] == {"n": 2, "s": "2"}
    elif fmt == "JSONCompact":
        assert orjson.loads(body)["data"] == [[0, "0"], [1, "1"], [2, "2"]]
    elif fmt == "JSONEachRow":
        assert [orjson.loads(line) for line in body.splitlines()][1] == {"n": 1, "s": "1"}
    elif fmt == "Parquet":
        assert pq.read_table(io.BytesIO(body)).column("s").to_pylist() == ["0", "1", "2"]
    elif fmt == "Arrow":
        assert pa.ipc.open_file(body).read_all().column("n").to_pylist() == [0, 1, 2]
    else:  # Native, RowBinaryWithNamesAndTypes: binary, named columns inside
        assert b"UInt64" in body
        assert b"String" in body


def test_format_clause_headers_and_query_joined_from_url_and_body(http: httpx.Client) -> None:
    response = http.get("/", params={"query": "SELECT 1 AS x FORMAT JSONEachRow"})
    assert response.json() == {"x": 1}
    assert response.headers["X-ClickHouse-Format"] == "JSONEachRow"
    response = http.post("/", params={"query": "SELECT dummy + 5 FROM"}, content="system.one")
    assert response.text == "5\n", "the URL's part and the body's are one statement"
    response = http.post(
        "/", content="SELECT currentDatabase()", headers={"X-ClickHouse-Database": "system",
                                                          "X-ClickHouse-Format": "JSONCompact"},
    )  # fmt: skip
    assert response.json()["data"] == [["system"]]
    after = http.post("/", content="SELECT currentDatabase()")
    assert after.text == "ghlake\n", "the database was used for that request only"
    for name in ("X-ClickHouse-Query-Id", "X-ClickHouse-Timezone", "X-ClickHouse-Summary",
                 "X-ClickHouse-Server-Display-Name"):  # fmt: skip
        assert response.headers[name]
    assert (
        http.post("/", params={"query_id": "q-42"}, content="SELECT 1").headers[
            "X-ClickHouse-Query-Id"
        ]
        == "q-42"
    )


def _error(response: httpx.Response) -> tuple[int, int]:
    body = response.text
    code = int(response.headers["X-ClickHouse-Exception-Code"])
    assert body.startswith(f"Code: {code}. DB::Exception: "), body
    return response.status_code, code


def test_bad_input_gets_clickhouse_errors_and_ingestion_goes_on(
    platform: Platform, http: httpx.Client, url: str, events: int
) -> None:
    settings = platform.settings.warehouse
    huge = "SELECT " + "+".join(["1"] * 200_000)
    cases = {
        "malformed": (http.post("/", content="SELEC 1"), (400, 62)),
        "unknown format": (http.post("/", content="SELECT 1 FORMAT Nope"), (404, 73)),
        "unknown setting": (
            http.post("/", params={"no_such_setting": "1"}, content="SELECT 1"),
            (404, 115),
        ),
        "over max_query_size": (http.post("/", content=huge), (400, 62)),
        "bad parameter value": (
            http.post("/", params={"param_n": "abc"}, content="SELECT {n:UInt8}"),
            (400, 457),
        ),
        "unbound parameter": (http.post("/", content="SELECT {nope:String}"), (400, 456)),
        "wrong password": (
            http.post("/", auth=(settings.analyst_user, "wrong"), content="SELECT 1"),
            (403, 516),
        ),
        "unknown user": (
            http.post("/", headers={"X-ClickHouse-User": "mallory"}, content="SELECT 1"),
            (403, 516),
        ),
        "oversized body": (
            http.post("/", content=b"SELECT 1 -- " + b"x" * (settings.max_body_bytes + 1)),
            (413, 229),
        ),
        "multi-statements": (http.post("/", content="SELECT 1; SELECT 2"), (400, 62)),
        "unknown table": (http.post("/", content="SELECT * FROM no_such_table"), (404, 60)),
    }
    for name, (response, expected) in cases.items():
        assert _error(response) == expected, name
    assert "Max query size exceeded" in cases["over max_query_size"][0].text
    assert http.get("/ping").text == "Ok.\n"
    assert httpx.get(f"{settings.url}/healthz", timeout=10).status_code == 200
    more = [_event("WatchEvent", 900 + i, WINDOW, "late", "ch/late") for i in range(4)]
    label = f"{LABEL}-after-errors"
    platform.publisher().publish_lines(more, Provenance("gharchive", label, ""))
    wait_for(lambda: platform.warehouse.counts_by_source_hour([label]) == {label: 4}, 120)


def test_the_analyst_is_read_only_by_the_engine(platform: Platform, http: httpx.Client) -> None:
    settings = platform.settings.warehouse
    for auth in [None, (settings.analyst_user, DEV_ANALYST_PASSWORD)]:
        kwargs = {"auth": auth} if auth else {}
        refused = {
            "INSERT INTO github_events (repo_name) VALUES ('x')": 164,
            "INSERT INTO github_events (repo_name) SELECT 'x'": 164,
            "DROP TABLE github_events": 164,
            "CREATE TABLE t (x UInt8) ENGINE = Memory": 164,
            "SELECT * FROM file('/etc/passwd', 'LineAsString')": 164,
            "SELECT * FROM url('http://127.0.0.1:9/x', 'LineAsString')": 164,
            "SELECT * FROM file('/etc/hosts', 'LineAsString') SETTINGS readonly = 0": 164,
            # SET cannot carry the per-query SETTINGS clause: the parser refuses it, so no
            # request ever changes the session every client shares.
            "SET readonly = 0": 62,
            "SELECT 1 INTO OUTFILE '/tmp/ghlake-outfile'": 358,
        }
        for sql, code in refused.items():
            response = http.post("/", content=sql, **kwargs)  # type: ignore[arg-type]
            assert _error(response)[1] == code, sql
        check = http.post("/", content="SELECT getSetting('readonly')", **kwargs)  # type: ignore[arg-type]
        assert check.text == "1\n"
        lifted = http.post(  # a URL setting cannot lift the user's: theirs come last
            "/", params={"readonly": "0", "max_result_rows": "0"},
            content="SELECT getSetting('readonly'), getSetting('max_result_rows')", **kwargs,
        )  # type: ignore[arg-type]  # fmt: skip
        assert lifted.text == f"1\t{settings.analyst_max_result_rows}\n"


def test_the_admin_writes_but_not_through_get(platform: Platform, http: httpx.Client) -> None:
    auth = (platform.settings.warehouse.admin_user, DEV_ADMIN_PASSWORD)
    assert http.post("/", auth=auth, content="SELECT getSetting('readonly')").text == "0\n"
    name = f"scratch_{int(time.time() * 1000)}"
    ddl = f"CREATE TABLE {name} (x UInt8) ENGINE = Memory"
    assert _error(http.get("/", params={"query": ddl}, auth=auth))[1] == 164, "GET is read-only"
    assert http.post("/", auth=auth, content=ddl).status_code == 200
    assert http.post("/", auth=auth, content=f"INSERT INTO {name} SELECT 7").status_code == 200
    assert http.post("/", content=f"SELECT x FROM {name}").text == "7\n"
    assert http.post("/", auth=auth, content=f"DROP TABLE {name}").status_code == 200
    header_auth = {"X-ClickHouse-User": auth[0], "X-ClickHouse-Key": auth[1]}
    assert (
        http.post("/", headers=header_auth, content="SELECT getSetting('readonly')").text == "0\n"
    )
    params_auth = {"user": auth[0], "password": auth[1]}
    assert http.post("/", params=params_auth, content="SELECT getSetting('readonly')").text == "0\n"


def test_no_parameter_or_setting_leaks_into_another_request(http: httpx.Client) -> None:
    first = http.post(
        "/", params={"param_secret": "from-a", "max_threads": "1"}, content="SELECT {secret:String}"
    )
    assert first.text == "from-a\n"
    assert _error(http.post("/", content="SELECT {secret:String}"))[1] == 456
    assert http.post("/", content="SELECT getSetting('max_threads')").text != "1\n"
    default_threads = http.post("/", content="SELECT getSetting('max_threads')").text
    answers: dict[int, str] = {}

    def ask(i: int) -> None:
        response = http.post(
            "/", params={"param_i": str(i), "max_threads": str(1 + i % 3)},
            content="SELECT {i:UInt32} * 10, getSetting('max_threads')",
        )  # fmt: skip
        answers[i] = response.text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {i: f"{i * 10}\t{1 + i % 3}\n" for i in range(12)}
    assert http.post("/", content="SELECT getSetting('max_threads')").text == default_threads


def test_compression_encodings_and_compressed_blocks(http: httpx.Client) -> None:
    plain = http.post("/", content=SQL).content
    framed = http.post("/", params={"compress": "1"}, content=SQL)
    assert decompress_blocks(framed.content) == plain
    sent = http.post("/", params={"decompress": "1"}, content=compress_blocks(SQL.encode()))
    assert sent.content == plain
    error = http.post("/", params={"compress": "1"}, content="SELEC 1")
    assert error.status_code == 400
    assert decompress_blocks(error.content).startswith(b"Code: 62. DB::Exception")
    corrupt = bytearray(compress_blocks(SQL.encode()))
    corrupt[-1] ^= 0xFF
    assert _error(http.post("/", params={"decompress": "1"}, content=bytes(corrupt)))[1] == 40
    for name, decode in (("gzip", cramjam.gzip.decompress), ("zstd", cramjam.zstd.decompress),
                         ("lz4", cramjam.lz4.decompress)):  # fmt: skip
        with http.stream(
            "POST", "/", params={"enable_http_compression": "1"}, content=SQL,
            headers={"Accept-Encoding": name},
        ) as response:  # fmt: skip
            assert response.headers["Content-Encoding"] == name
            raw = b"".join(response.iter_raw())
        assert bytes(decode(raw)) == plain, name
        encoded = bytes(cramjam.gzip.compress(SQL.encode())) if name == "gzip" else None
        if encoded is not None:
            sent = http.post("/", content=encoded, headers={"Content-Encoding": "gzip"})
            assert sent.content == plain


def test_clickhouse_connect_errors_carry_clickhouse_codes(
    platform: Platform, client: Client
) -> None:
    with pytest.raises(DatabaseError, match="Code: 164"):
        client.command("DROP TABLE github_events")
    port = platform.settings.warehouse.http_port
    with pytest.raises(DatabaseError, match="516"):
        clickhouse_connect.get_client(host="127.0.0.1", port=port, password="nope")


def _committed(platform: Platform) -> int:
    """Offsets the warehouse's Kafka engine committed, summed over the topic's partitions."""
    from confluent_kafka import Consumer, TopicPartition  # noqa: PLC0415

    kafka = platform.settings.kafka
    group = platform.settings.warehouse.consumer_group
    consumer = Consumer(
        {"bootstrap.servers": kafka.bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        parts = [TopicPartition(kafka.topic, p) for p in range(kafka.partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()


def test_a_slow_query_stalls_neither_health_nor_ingestion(
    platform: Platform, http: httpx.Client, events: int
) -> None:
    slow = "SELECT sleepEachRow(1) FROM numbers(5)"
    answers: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: answers.append(http.post("/", params={"max_block_size": "1"}, content=slow))
    )
    before = _committed(platform)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert http.get("/ping").text == "Ok.\n"
    health = httpx.get(f"{platform.settings.warehouse.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert time.monotonic() - started < 4, "health answered while the slow query ran"
    lines = [_event("PushEvent", 2000 + i, WINDOW, "busy", "ch/busy") for i in range(5)]
    platform.publisher().publish_lines(lines, Provenance("gharchive", f"{LABEL}-busy", ""))
    deadline = time.monotonic() + 30
    while _committed(platform) < before + len(lines):
        assert time.monotonic() < deadline, "the Kafka engine went on consuming"
        time.sleep(0.2)
    consumed_during_query = worker.is_alive()
    worker.join()
    assert answers[0].status_code == 200
    assert consumed_during_query, "the events were consumed while the slow query still ran"


def test_other_clients_are_answered_during_a_slow_query_and_a_gone_client_stops_its_own(
    platform: Platform, http: httpx.Client, url: str
) -> None:
    admin = (platform.settings.warehouse.admin_user, DEV_ADMIN_PASSWORD)
    marker = f"gone-{uuid.uuid4().hex}"
    slow = f"SELECT '{marker}', count() FROM numbers(1000000000000) WHERE sipHash64(number) = 7"

    def running() -> int:
        check = (
            "SELECT count() FROM system.processes WHERE query LIKE {m:String} "
            "AND query NOT LIKE '%system.processes%'"
        )
        response = http.post("/", params={"param_m": f"%{marker}%"}, content=check, auth=admin)
        return int(response.text)

    # The client gives up after a few seconds and closes its connection, as a dashboard tab does.
    gave_up: list[BaseException] = []

    def impatient_client() -> None:
        try:
            httpx.post(url, content=slow, timeout=httpx.Timeout(10, read=4))
        except httpx.ReadTimeout as exc:
            gave_up.append(exc)

    client = threading.Thread(target=impatient_client)
    client.start()
    try:
        wait_for(lambda: running() == 1, timeout=4)
        # Meanwhile the engine answers everyone else (a pool of connections, not one session):
        # an answer while the slow query still runs.
        assert http.post("/", content="SELECT 1").text == "1\n"
        assert running() == 1, "answered while the slow query ran"
    finally:
        client.join(timeout=30)
    assert gave_up, "the client timed out"
    wait_for(lambda: running() == 0, timeout=10)  # cancelled long before its 30 s limit
