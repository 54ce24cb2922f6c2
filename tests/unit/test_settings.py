from __future__ import annotations

import pytest

from ghlake.errors import ConfigError
from ghlake.settings import DEV_API_TOKEN, DEV_MINIO_SECRET_KEY, load_settings


def test_dev_mode_fills_dev_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GHLAKE_MINIO__SECRET_KEY", raising=False)
    settings = load_settings(mode="dev")
    assert settings.minio_secret_key == DEV_MINIO_SECRET_KEY


def test_prod_mode_refuses_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_API__TOKEN", "a-real-token")
    monkeypatch.delenv("GHLAKE_MINIO__SECRET_KEY", raising=False)
    monkeypatch.delenv("GHLAKE_MINIO__ACCESS_KEY", raising=False)
    with pytest.raises(ConfigError, match="must be set in prod"):
        load_settings(mode="prod")


def test_prod_mode_refuses_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_API__TOKEN", "a-real-token")
    monkeypatch.setenv("GHLAKE_MINIO__ACCESS_KEY", "lake")
    monkeypatch.setenv("GHLAKE_MINIO__SECRET_KEY", DEV_MINIO_SECRET_KEY)
    with pytest.raises(ConfigError, match="refused in prod"):
        load_settings(mode="prod")


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_KAFKA__PORT", "19092")
    monkeypatch.setenv("GHLAKE_KAFKA__TOPIC", "events.test")
    settings = load_settings()
    assert settings.kafka.bootstrap == "127.0.0.1:19092"
    assert settings.kafka.topic == "events.test"


def test_invalid_topic_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_KAFKA__TOPIC", "events'; DROP")
    with pytest.raises(ConfigError, match="topic"):
        load_settings()


def test_prod_mode_refuses_the_dev_api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHLAKE_MINIO__ACCESS_KEY", "lake")
    monkeypatch.setenv("GHLAKE_MINIO__SECRET_KEY", "a-real-secret")
    monkeypatch.delenv("GHLAKE_API__TOKEN", raising=False)
    with pytest.raises(ConfigError, match="API__TOKEN must be set"):
        load_settings(mode="prod")
    monkeypatch.setenv("GHLAKE_API__TOKEN", DEV_API_TOKEN)
    with pytest.raises(ConfigError, match="dev API token is refused"):
        load_settings(mode="prod")


def test_the_api_token_is_checked_in_one_place() -> None:
    settings = load_settings(api={"token": "s3cret-token"})
    assert settings.accepts_token("s3cret-token")
    assert not settings.accepts_token("s3cret-tokeN")
    assert not settings.accepts_token("")
    assert not settings.accepts_token(None)


def test_a_stall_limit_below_the_session_timeout_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GHLAKE_LAKE__MAX_STALL_SECONDS", "15")
    monkeypatch.setenv("GHLAKE_LAKE__SESSION_TIMEOUT_MS", "30000")
    with pytest.raises(ConfigError, match="max_stall_seconds"):
        load_settings()
    monkeypatch.setenv("GHLAKE_LAKE__SESSION_TIMEOUT_MS", "10000")
    assert load_settings().lake.max_stall_seconds == 15
