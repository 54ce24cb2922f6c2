"""ClickHouse's HTTP interface without HTTP: requests, statements, errors, framing, users."""

from __future__ import annotations

import pytest

from ghlake.errors import ConfigError
from ghlake.settings import DEV_ADMIN_PASSWORD, DEV_ANALYST_PASSWORD, load_settings
from ghlake.warehouse.framing import LZ4, NONE, ZSTD, compress_blocks, decompress_blocks
from ghlake.warehouse.users import authenticate
from ghlake.warehouse.wire import (
    ClickHouseError,
    http_status_of,
    inline_insert,
    into_outfile,
    output_format,
    placeholders,
    statement_with_settings,
    wire_request,
)


def test_url_parameters_split_into_params_settings_and_transport() -> None:
    request = wire_request(
        [("query", "SELECT {x:UInt8}"), ("param_x", "7"), ("max_threads", "2"),
         ("session_id", "s"), ("compress", "1"), ("database", "system")],
        "+ 1",
        {"x-clickhouse-format": "JSON"},
    )  # fmt: skip
    assert request.sql == "SELECT {x:UInt8}\n+ 1"
    assert request.params == {"x": "7"}
    assert request.settings == [("max_threads", "2")]
    assert (request.database, request.default_format) == ("system", "JSON")
    assert set(request.transport) == {"query", "session_id", "compress", "database"}


@pytest.mark.parametrize(
    ("params", "body", "code"),
    [([], "  ", 62), ([("param_x-y", "1")], "SELECT 1", 457), ([("a b", "1")], "SELECT 1", 115)],
)
def test_bad_requests_are_clickhouse_errors(
    params: list[tuple[str, str]], body: str, code: int
) -> None:
    with pytest.raises(ClickHouseError) as caught:
        wire_request(params, body, {})
    assert caught.value.code == code
    assert caught.value.body().startswith(f"Code: {code}. DB::Exception: ".encode())


def test_settings_go_last_into_the_statements_own_clause() -> None:
    changes = [("max_threads", "2"), ("readonly", "1")]
    assert statement_with_settings("SELECT 1", changes) == (
        "SELECT 1 SETTINGS max_threads = '2', readonly = '1'"
    )
    assert statement_with_settings("SELECT 1 FORMAT JSON", changes).endswith(
        "FORMAT JSON SETTINGS max_threads = '2', readonly = '1'"
    )
    assert statement_with_settings("SELECT 1 FORMAT JSON SETTINGS a = 1", [("b", "x'y")]) == (
        "SELECT 1 FORMAT JSON SETTINGS a = 1, b = 'x\\'y'"
    )
    assert statement_with_settings("INSERT INTO t (x) FORMAT Values", changes) == (
        "INSERT INTO t (x) SETTINGS max_threads = '2', readonly = '1' SELECT 1 WHERE 0"
    )


def test_formats_placeholders_and_files_are_read_outside_literals() -> None:
    assert output_format("SELECT 1 FORMAT Native") == "Native"
    assert output_format("SELECT 1 FORMAT JSON SETTINGS a = 1") == "JSON"
    assert output_format("SELECT ' FORMAT JSON'") is None
    assert output_format("INSERT INTO t FORMAT Values") is None
    assert placeholders("SELECT {a:String}, '{b:String}', {c: UInt8}") == {"a", "c"}
    assert into_outfile("SELECT 1 INTO OUTFILE 'x'")
    assert not into_outfile("SELECT ' INTO OUTFILE '")
    assert inline_insert("INSERT INTO t FORMAT Values")
    assert not inline_insert("INSERT INTO t SELECT 1")


def test_error_codes_map_to_clickhouses_http_statuses() -> None:
    assert [http_status_of(c) for c in (516, 194, 62, 60, 73, 229, 164, 159, 1)] == [
        403, 401, 400, 404, 404, 413, 403, 408, 500,
    ]  # fmt: skip
    engine = ClickHouseError.from_engine(RuntimeError("Code: 60. DB::Exception: Unknown table"))
    assert (engine.code, engine.status) == (60, 404)


@pytest.mark.parametrize("method", [LZ4, ZSTD, NONE])
def test_compressed_blocks_round_trip(method: int) -> None:
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    framed = compress_blocks(data, method)
    assert decompress_blocks(framed) == data
    assert decompress_blocks(compress_blocks(b"")) == b""


def test_broken_blocks_are_clickhouse_errors() -> None:
    framed = bytearray(compress_blocks(b"hello" * 100))
    cases = {40: bytes(framed[:-1]) + bytes([framed[-1] ^ 1]), 271: bytes(framed[:20])}
    wrong_method = bytearray(framed)
    wrong_method[16] = 0x55
    cases[89] = bytes(wrong_method)
    for code, data in cases.items():
        with pytest.raises(ClickHouseError) as caught:
            decompress_blocks(data, verify=code != 89)
        assert caught.value.code == code


def test_users_from_settings() -> None:
    settings = load_settings()
    analyst = authenticate(settings, settings.warehouse.analyst_user, DEV_ANALYST_PASSWORD)
    assert analyst.readonly
    assert ("readonly", "1") in analyst.settings
    assert not authenticate(settings, settings.warehouse.admin_user, DEV_ADMIN_PASSWORD).readonly
    assert authenticate(settings, None, None).readonly, "dev mode: default, empty password"
    with pytest.raises(ClickHouseError) as caught:
        authenticate(settings, settings.warehouse.admin_user, "wrong")
    assert caught.value.code == 516


def test_prod_refuses_default_warehouse_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_API__TOKEN", "a-real-token")
    monkeypatch.setenv("GHLAKE_MINIO__ACCESS_KEY", "lake")
    monkeypatch.setenv("GHLAKE_MINIO__SECRET_KEY", "a-real-secret")
    with pytest.raises(ConfigError, match="ANALYST_PASSWORD must be set"):
        load_settings(mode="prod")
    monkeypatch.setenv("GHLAKE_WAREHOUSE__ANALYST_PASSWORD", DEV_ANALYST_PASSWORD)
    monkeypatch.setenv("GHLAKE_WAREHOUSE__ADMIN_PASSWORD", "a-real-admin-password")
    with pytest.raises(ConfigError, match="analyst password is refused"):
        load_settings(mode="prod")
    monkeypatch.setenv("GHLAKE_WAREHOUSE__ANALYST_PASSWORD", "a-real-analyst-password")
    settings = load_settings(mode="prod")
    with pytest.raises(ClickHouseError):
        authenticate(settings, None, None)  # no passwordless default in prod
