"""Settings: one object, read once from ``GHLAKE_*`` variables at the edge.

Nested sections use ``__``: ``GHLAKE_KAFKA__PORT=19092``,
``GHLAKE_MINIO__SECRET_KEY=...``. Defaults run the whole stack on loopback in
dev mode; prod mode refuses to start with the dev credentials.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ghlake.errors import ConfigError

__all__ = [
    "DEV_ADMIN_PASSWORD",
    "DEV_AIRFLOW_ADMIN_PASSWORD",
    "DEV_AIRFLOW_JWT_SECRET",
    "DEV_ANALYST_PASSWORD",
    "DEV_API_TOKEN",
    "DEV_MINIO_ACCESS_KEY",
    "DEV_MINIO_SECRET_KEY",
    "AirflowSettings",
    "ApiSettings",
    "KafkaSettings",
    "LagSettings",
    "LakeSettings",
    "LedgerSettings",
    "LiveSettings",
    "MinioSettings",
    "PrometheusSettings",
    "ReplaySettings",
    "Settings",
    "SparkSettings",
    "WarehouseSettings",
    "load_settings",
]

DEV_MINIO_ACCESS_KEY = "ghlake"
DEV_MINIO_SECRET_KEY = "ghlake-dev-secret"  # noqa: S105 - a dev-mode default, refused in prod
DEV_API_TOKEN = "ghlake-dev-token"  # noqa: S105 - a dev-mode default, refused in prod
DEV_ANALYST_PASSWORD = "ghlake-analyst-dev"  # noqa: S105 - a dev-mode default, refused in prod
DEV_ADMIN_PASSWORD = "ghlake-admin-dev"  # noqa: S105 - a dev-mode default, refused in prod
DEV_AIRFLOW_JWT_SECRET = "ghlake-airflow-dev-jwt-secret"  # noqa: S105 - dev default, refused in prod
DEV_AIRFLOW_ADMIN_PASSWORD = "ghlake-airflow-dev"  # noqa: S105 - dev default, refused in prod

_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ghlake"


# Node n of a local Kafka cluster listens on port + 2(n-1), its controller on
# controller_port + 2(n-1): 9092/9093, 9094/9095, 9096/9097 by default.
KAFKA_PORT_STEP = 2


class KafkaSettings(BaseModel):
    """The broker ghlake starts (or an external cluster) and its topics.

    ``brokers`` local KRaft nodes (each a combined broker and controller) start on
    loopback; with three or more, topics get three replicas and ``min.insync.replicas=2``.
    For an external cluster, ``brokers`` says how many it has (the topics' replication).
    """

    host: str = "127.0.0.1"
    port: int = Field(9092, ge=1, le=65535)
    controller_port: int = Field(9093, ge=1, le=65535)
    brokers: int = Field(1, ge=1, le=9)
    external_bootstrap: str | None = Field(
        None, description="bootstrap servers of an existing cluster; the local broker is not used"
    )
    topic: str = "gharchive.events"
    dead_letter_topic: str = "gharchive.events.dlq"
    partitions: int = Field(6, ge=1, le=1024)
    # Long enough to rebuild the lake or the warehouse by replaying the topic.
    retention_ms: int = Field(30 * 24 * 3600 * 1000, ge=-1)
    heap: str = "1g"
    java_options: str = Field(
        "", description="extra options of the nodes' JVMs (and of the storage format tool)"
    )

    @field_validator("topic", "dead_letter_topic")
    @classmethod
    def _valid_topic(cls, value: str) -> str:
        if not _TOPIC_RE.match(value):
            raise ValueError(f"{value!r} is not a valid Kafka topic name")
        return value

    @model_validator(mode="after")
    def _distinct_ports(self) -> KafkaSettings:
        ports = [p for node in range(1, self.brokers + 1) for p in self.node_ports(node)]
        if len(set(ports)) != len(ports) or max(ports) > 65535:
            raise ValueError(
                f"kafka.port ({self.port}) and kafka.controller_port ({self.controller_port}) "
                f"give {self.brokers} nodes overlapping or invalid ports {ports}: node n uses "
                f"port + {KAFKA_PORT_STEP}(n-1) and controller_port + {KAFKA_PORT_STEP}(n-1)"
            )
        return self

    def node_ports(self, node: int) -> tuple[int, int]:
        """The client and controller ports of local node ``node`` (1 to :attr:`brokers`)."""
        offset = KAFKA_PORT_STEP * (node - 1)
        return self.port + offset, self.controller_port + offset

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers clients connect to: every local node, comma-separated."""
        if self.external_bootstrap:
            return self.external_bootstrap
        nodes = range(1, self.brokers + 1)
        return ",".join(f"{self.host}:{self.node_ports(n)[0]}" for n in nodes)

    @property
    def replication_factor(self) -> int:
        """Replicas of each topic: three once the cluster has three brokers, else all of them."""
        return min(self.brokers, 3)

    @property
    def min_insync_replicas(self) -> int:
        """Replicas an ``acks=all`` write needs: 2 of 3, so one broker may fail; 1 below three."""
        return 2 if self.replication_factor >= 3 else 1


class MinioSettings(BaseModel):
    """The object store of the lake."""

    host: str = "127.0.0.1"
    port: int = Field(9000, ge=1, le=65535)
    console_port: int = Field(9001, ge=1, le=65535)
    external_endpoint: str | None = Field(
        None, description="host:port of an existing S3 service; the local MinIO is not used"
    )
    secure: bool = False
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    bucket: str = "ghlake-lake"
    region: str = "us-east-1"
    # 1: one plain drive. 4 (up to 16): one server erasure-coding objects over that many
    # directories (MinIO's data{1...N}), so a lost drive is healed from the others.
    drives: int = Field(1, ge=1, le=16)

    @property
    def endpoint(self) -> str:
        """host:port clients connect to."""
        return self.external_endpoint or f"{self.host}:{self.port}"


class LakeSettings(BaseModel):
    """The lake writer workers (``ghlake worker``, stream-processors/)."""

    consumer_group: str = "ghlake-lake-writer"
    # The Delta table's folder in the bucket (s3://<bucket>/<table>/).
    table: str = "github_events"
    # The Parquet layout before the Delta table (read only by `ghlake lake convert`).
    prefix: str = "events"
    batch_max_events: int = Field(50_000, ge=1)
    batch_max_seconds: float = Field(5.0, gt=0)
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    # Lake writer processes `ghlake up` starts (one consumer group; at most one per
    # partition): writer n serves health and metrics on web_port + n - 1.
    writers: int = Field(1, ge=1, le=64)
    retry_max_seconds: float = Field(10.0, gt=0)
    # A dead worker's partitions move to the others after this.
    session_timeout_ms: int = Field(10_000, ge=1_000, le=300_000)
    # A worker that neither takes nor retries a batch for this long (it hangs) leaves the
    # group (librdkafka's max.poll.interval.ms); a stalled batch keeps answering the group.
    max_stall_seconds: int = Field(1800, ge=15)
    lag_interval_seconds: float = Field(5.0, gt=0)
    row_group_rows: int = Field(4096, ge=256)
    # Event hours whose identities a writer keeps in memory to drop duplicates (lake/dedup.py):
    # ~16 MB an hour of 200k events. An hour touched again after it was let go is read
    # back from its files' two key columns. A replay in order touches 2-3 at a time; the
    # day bench's writer peaked at 1,055 MiB with 12 (docs/scaling.md, "One machine").
    dedup_hours: int = Field(4, ge=1, le=168)
    # Compaction: the size of the files it writes; vacuum: how long removed files stay.
    compact_target_mb: int = Field(128, ge=1)
    vacuum_retain_hours: int = Field(168, ge=0)

    def writer_url(self, number: int = 1) -> str:
        """Base URL of lake writer ``number`` (1 to :attr:`writers`): its health and metrics."""
        return f"http://{self.web_host}:{self.web_port + number - 1}"

    @model_validator(mode="after")
    def _stall_outlasts_the_session(self) -> LakeSettings:
        if self.max_stall_seconds * 1000 < self.session_timeout_ms:
            raise ValueError(
                f"lake.max_stall_seconds ({self.max_stall_seconds}) must be at least the "
                f"session timeout ({self.session_timeout_ms} ms), as librdkafka requires"
            )
        return self


class WarehouseSettings(BaseModel):
    """The ClickHouse warehouse: embedded chDB owned by one service process."""

    host: str = "127.0.0.1"
    port: int = Field(8124, ge=1, le=65535)
    database: str = "ghlake"
    consumer_group: str = "ghlake-warehouse"
    # How often the Kafka engine flushes a block into the tables (freshness).
    flush_interval_ms: int = Field(500, ge=100)
    # The most messages in one such block (kafka_max_block_size). A block holds its lines
    # and their parsed rows in memory at once: when the engine drains a backlog, blocks are
    # this full and the service's memory follows. Measured on a 2024-size hour
    # (docs/scaling.md, "One machine"): 65536 peaked at 1.0-1.5 GiB, 16384 at 1.0 GiB for
    # the same CPU per event, 8192 at 0.8 GiB for 22% more (smaller parts, more merges).
    max_block_size: int = Field(16384, ge=100, le=1_048_576)
    # False: no Kafka engine tables, the broker is never touched (benches, tools).
    pipeline: bool = True
    # Consumers of the Kafka engine table in the warehouse service (kafka_num_consumers,
    # each on its own thread when more than one); at most one per partition.
    consumers: int = Field(1, ge=1, le=64)
    # ClickHouse's HTTP interface, served by the same process (ghlake.warehouse_api.clickhouse).
    http_port: int = Field(8123, ge=1, le=65535)
    analyst_user: str = "ghlake_analyst"
    analyst_password: SecretStr | None = None
    admin_user: str = "ghlake_admin"
    admin_password: SecretStr | None = None
    # The analyst's budget per query, applied by the engine (as clickhouse/server/users.d).
    analyst_max_execution_time: float = Field(30.0, gt=0, le=3600)
    analyst_max_result_rows: int = Field(1_000_000, ge=1)
    analyst_max_memory_usage: int = Field(2 * 1024**3, ge=1024**2)
    max_body_bytes: int = Field(16 * 1024**2, ge=1024)

    @field_validator("database", "consumer_group")
    @classmethod
    def _valid_identifier(cls, value: str) -> str:
        if not _IDENT_RE.match(value.replace("-", "_")):
            raise ValueError(f"{value!r} must be letters, digits, '_' or '-'")
        return value

    @property
    def url(self) -> str:
        """Base URL of the warehouse service."""
        return f"http://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        """Base URL of the warehouse's ClickHouse HTTP interface."""
        return f"http://{self.host}:{self.http_port}"


class ApiSettings(BaseModel):
    """The public HTTP API and the token its write (and raw SQL) endpoints require."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    token: SecretStr | None = None
    max_hours_per_request: int = Field(24 * 31, ge=1)

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"


class ReplaySettings(BaseModel):
    """Where GH Archive hours come from and how they are fetched."""

    mirror: str = "https://data.gharchive.org"
    fallback_mirrors: list[str] = Field(default_factory=list)
    concurrency: int = Field(2, ge=1, le=16, description="hours downloaded ahead in parallel")
    retries: int = Field(4, ge=0, le=20)
    retry_backoff_seconds: float = Field(1.0, gt=0)
    timeout_seconds: float = Field(60.0, gt=0)


class LiveSettings(BaseModel):
    """The live poller of GitHub's public Events API."""

    base_url: str = "https://api.github.com"
    pages: int = Field(3, ge=1, le=3)
    per_page: int = Field(100, ge=1, le=100)
    tokens: list[SecretStr] = Field(default_factory=list, description="GitHub tokens, rotated")
    min_interval_s: float = Field(60.0, ge=0)
    user_agent: str = "ghlake"
    timeout_s: float = Field(30.0, gt=0)
    dedup_capacity: int = Field(100_000, ge=600)


class LedgerSettings(BaseModel):
    """The ledger database: SQLite under the state directory unless a URL is given."""

    url: str | None = Field(None, description="SQLAlchemy URL, e.g. postgresql+psycopg://...")


class LagSettings(BaseModel):
    """The lag monitor, run inside the API (one sampling loop for /v1/lag, /metrics, the page)."""

    interval_seconds: float = Field(5.0, gt=0, le=300)
    # Burrow's window: samples per partition, and how long an unmoved offset with lag
    # may stay still before it is STOP (no member) or STALL (members).
    window_samples: int = Field(10, ge=3, le=1000)
    stop_after_seconds: float = Field(60.0, gt=0)
    # A group without members stays listed (flagged inactive) this long after it last moved.
    inactive_after_seconds: float = Field(3600.0, gt=0)


class PrometheusSettings(BaseModel):
    """The Prometheus server ``ghlake up`` starts (Debian's package), scraping every /metrics."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9090, ge=1, le=65535)
    scrape_interval_seconds: int = Field(5, ge=1, le=300)
    retention: str = "15d"

    @property
    def url(self) -> str:
        """Base URL of the Prometheus server."""
        return f"http://{self.host}:{self.port}"


class AirflowSettings(BaseModel):
    """Airflow (backfills and compaction): its own venv, its own PostgreSQL, LocalExecutor."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535, description="the api-server (UI, REST, execution API)")
    db_port: int = Field(5433, ge=1, le=65535, description="Airflow's PostgreSQL cluster")
    # Default GHLAKE_HOME/airflow/postgres; as root the server runs as user postgres, who
    # must be able to reach it (a folder under a private 0700 one will not do).
    db_dir: Path | None = None
    log_server_port: int = Field(8793, ge=1, le=65535, description="the scheduler's task logs")
    trigger_log_server_port: int = Field(8794, ge=1, le=65535, description="the triggerer's")
    admin_user: str = "admin"
    admin_password: SecretStr | None = None
    # Signs the tokens of the REST API and of the execution API (every component shares it).
    jwt_secret: SecretStr | None = None
    parallelism: int = Field(4, ge=1, le=64)
    # How often the dag-processor lists airflow/dags and re-parses a file.
    dag_refresh_seconds: int = Field(30, ge=1)
    # gharchive_hourly's own schedule stays off: the live feed comes from `ghlake poll`.
    scheduled_hourly_runs: bool = False

    @property
    def url(self) -> str:
        """Base URL of the api-server (the UI is there too)."""
        return f"http://{self.host}:{self.port}"


class SparkSettings(BaseModel):
    """The Spark environment (its own venv and jars in the cache) and the standalone cluster.

    ``ghlake spark up`` starts a master and ``workers`` workers on these ports; jobs and
    notebooks use ``master_url`` (``local[*]`` unless a cluster is named), so pointing them
    at an existing cluster is ``GHLAKE_SPARK__MASTER_URL=spark://host:7077``.
    """

    host: str = "127.0.0.1"
    master_port: int = Field(7077, ge=1, le=65535)
    master_ui_port: int = Field(8090, ge=1, le=65535)  # not 8080: Airflow's api-server
    worker_ui_port: int = Field(8091, ge=1, le=65535)  # the first worker's; the next +1 ...
    driver_ui_port: int = Field(4040, ge=0, le=65535)  # 0: no driver UI
    workers: int = Field(1, ge=1, le=16)
    worker_cores: int = Field(2, ge=1)
    worker_memory: str = "2g"
    driver_memory: str = "2g"
    java_options: str = Field(
        "",
        description="extra options of every Spark JVM (drivers, executors, master, workers); "
        "e.g. -XX:TieredStopAtLevel=1: C1 only, half the JIT work of a short job or notebook",
    )
    master_url: str | None = Field(
        None, description="spark://host:port of a cluster; None: local[*] in the driver"
    )

    @property
    def cluster_url(self) -> str:
        """The URL of the master ``ghlake spark up`` starts."""
        return f"spark://{self.host}:{self.master_port}"


class Settings(BaseSettings):
    """Everything configurable in ghlake."""

    model_config = SettingsConfigDict(
        env_prefix="GHLAKE_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    mode: Literal["dev", "prod"] = "dev"
    home: Path = Field(Path(".ghlake"), description="state: pid files, logs, service data")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="downloads and builds")
    project_root: Path | None = Field(None, description="the ghlake checkout (kafka/, minio/ ...)")
    kafka: KafkaSettings = KafkaSettings()
    minio: MinioSettings = MinioSettings()
    lake: LakeSettings = LakeSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    api: ApiSettings = ApiSettings()
    replay: ReplaySettings = ReplaySettings()
    live: LiveSettings = LiveSettings()
    ledger: LedgerSettings = LedgerSettings()
    lag: LagSettings = LagSettings()
    prometheus: PrometheusSettings = PrometheusSettings()
    airflow: AirflowSettings = AirflowSettings()
    spark: SparkSettings = SparkSettings()

    @model_validator(mode="after")
    def _workers_fit_the_partitions(self) -> Settings:
        """A consumer group gives each partition to one member: more would sit idle."""
        partitions = self.kafka.partitions
        for name, count in (
            ("lake.writers", self.lake.writers),
            ("warehouse.consumers", self.warehouse.consumers),
        ):
            if count > partitions:
                raise ValueError(
                    f"{name} ({count}) is more than the topic's partitions ({partitions}): "
                    "each partition is read by one member of a group, so the extra ones "
                    "would get nothing; raise kafka.partitions or lower the count"
                )
        return self

    @model_validator(mode="after")
    def _credentials(self) -> Settings:
        api = self.api
        if api.token is None:
            if self.mode == "prod":
                raise ValueError("GHLAKE_API__TOKEN must be set in prod mode")
            object.__setattr__(
                self, "api", api.model_copy(update={"token": SecretStr(DEV_API_TOKEN)})
            )
        elif self.mode == "prod" and api.token.get_secret_value() == DEV_API_TOKEN:
            raise ValueError("the dev API token is refused in prod mode")
        minio = self.minio
        if minio.access_key is None or minio.secret_key is None:
            if self.mode == "prod":
                raise ValueError(
                    "GHLAKE_MINIO__ACCESS_KEY and GHLAKE_MINIO__SECRET_KEY must be set in prod mode"
                )
            object.__setattr__(
                self,
                "minio",
                minio.model_copy(
                    update={
                        "access_key": minio.access_key or SecretStr(DEV_MINIO_ACCESS_KEY),
                        "secret_key": minio.secret_key or SecretStr(DEV_MINIO_SECRET_KEY),
                    }
                ),
            )
        elif self.mode == "prod" and minio.secret_key.get_secret_value() == DEV_MINIO_SECRET_KEY:
            raise ValueError("the dev MinIO secret key is refused in prod mode")
        self._warehouse_passwords()
        return self

    def _warehouse_passwords(self) -> None:
        warehouse = self.warehouse
        given = {"analyst": warehouse.analyst_password, "admin": warehouse.admin_password}
        dev = {"analyst": DEV_ANALYST_PASSWORD, "admin": DEV_ADMIN_PASSWORD}
        if self.mode == "prod":
            for role, password in given.items():
                env = f"GHLAKE_WAREHOUSE__{role.upper()}_PASSWORD"
                if password is None:
                    raise ValueError(f"{env} must be set in prod mode")
                if password.get_secret_value() in (dev[role], ""):
                    raise ValueError(
                        f"the dev (or an empty) {role} password is refused in prod mode"
                    )
            return
        update = {f"{role}_password": p or SecretStr(dev[role]) for role, p in given.items()}
        object.__setattr__(self, "warehouse", warehouse.model_copy(update=update))

    @model_validator(mode="after")
    def _airflow_secrets(self) -> Settings:
        """Dev defaults in dev; in prod the dev values are refused, and unset ones are refused
        when Airflow starts (:meth:`airflow_secrets`): a deployment without Airflow needs none."""
        airflow = self.airflow
        given = {"ADMIN_PASSWORD": airflow.admin_password, "JWT_SECRET": airflow.jwt_secret}
        dev = {"ADMIN_PASSWORD": DEV_AIRFLOW_ADMIN_PASSWORD, "JWT_SECRET": DEV_AIRFLOW_JWT_SECRET}
        if self.mode == "prod":
            for name, secret in given.items():
                if secret is not None and secret.get_secret_value() in (dev[name], ""):
                    raise ValueError(
                        f"the dev (or an empty) GHLAKE_AIRFLOW__{name} is refused in prod"
                    )
            return self
        update = {name.lower(): s or SecretStr(dev[name]) for name, s in given.items()}
        object.__setattr__(self, "airflow", airflow.model_copy(update=update))
        return self

    def airflow_secrets(self) -> tuple[str, str]:
        """Airflow's admin password and JWT secret; ConfigError when prod left one unset."""
        password, secret = self.airflow.admin_password, self.airflow.jwt_secret
        if password is None or secret is None:
            raise ConfigError(
                "GHLAKE_AIRFLOW__ADMIN_PASSWORD and GHLAKE_AIRFLOW__JWT_SECRET must be set in prod"
            )
        return password.get_secret_value(), secret.get_secret_value()

    @property
    def root(self) -> Path:
        """The ghlake checkout that holds the service folders."""
        if self.project_root is not None:
            return self.project_root.resolve()
        # src/ghlake/settings.py -> the checkout, for an editable install.
        candidate = Path(__file__).resolve().parents[2]
        if not (candidate / "kafka" / "pom.xml").is_file():
            raise ConfigError(
                f"cannot find the ghlake checkout from {candidate}; "
                "set GHLAKE_PROJECT_ROOT to the folder that holds kafka/ and minio/"
            )
        return candidate

    @property
    def state_dir(self) -> Path:
        """Absolute path of :attr:`home`."""
        return self.home.resolve()

    @property
    def warehouse_path(self) -> Path:
        """The embedded chDB database (one process holds it: the warehouse service)."""
        return self.state_dir / "warehouse" / "chdb"

    @property
    def minio_access_key(self) -> str:
        """The access key (always set after validation)."""
        assert self.minio.access_key is not None
        return self.minio.access_key.get_secret_value()

    @property
    def ledger_url(self) -> str:
        """The ledger's SQLAlchemy URL."""
        return self.ledger.url or f"sqlite:///{self.state_dir / 'ledger.db'}"

    @property
    def api_token(self) -> str:
        """The token write endpoints require (always set after validation)."""
        assert self.api.token is not None
        return self.api.token.get_secret_value()

    def accepts_token(self, given: str | None) -> bool:
        """Whether ``given`` is the API token, compared in constant time (None: no token sent)."""
        expected = self.api_token.encode()
        return given is not None and secrets.compare_digest(given.encode(), expected)

    @property
    def minio_secret_key(self) -> str:
        """The secret key (always set after validation)."""
        assert self.minio.secret_key is not None
        return self.minio.secret_key.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, translating validation errors."""
    from pydantic import ValidationError  # noqa: PLC0415 - keep the happy path's imports small

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
