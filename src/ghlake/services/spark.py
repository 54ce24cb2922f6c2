"""The Spark environment and the standalone cluster (``ghlake spark install|up|down``).

pyspark is not a dependency of ghlake: Spark runs from its own virtual environment in the
cache (``<cache>/spark-venv``), installed from the hash lock ``spark/requirements.lock``
(pyspark, delta-spark, papermill and ipykernel for the notebooks, and ghlake's own
dependencies), with ghlake itself installed into it without dependencies, so jobs and
notebooks build ``Platform(load_settings())`` like every edge.

The jars pyspark lacks (the Kafka source, Delta, s3a with the few AWS SDK modules it uses)
are resolved by Maven from ``spark/pom.xml`` into ``<cache>/spark-jars/<pom digest>``, once;
a jar pyspark already ships (Hadoop's client, Jackson, Scala ...) is not added twice.

The cluster is a master and N workers started with ``spark-class`` (the pip package has no
start scripts), each a supervised process with a pid file, a log and a health check on its
web UI, all bound to ``spark.host``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import httpx

from ghlake.errors import ServiceError
from ghlake.services.cache import fill_once
from ghlake.services.supervisor import ProcessSpec
from ghlake.services.venvs import run_tool, uv_install
from ghlake.settings import Settings

__all__ = [
    "SparkEnvironment",
    "ensure_spark_environment",
    "master_spec",
    "worker_name",
    "worker_spec",
]

_STAMP = ".ghlake-installed"
_JAR_VERSION = re.compile(r"-\d[\w.+-]*\.jar$")


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:12]


def _artifact(jar: Path) -> str:
    """A jar's name without its version: ``kafka-clients-3.9.1.jar`` -> ``kafka-clients``."""
    return _JAR_VERSION.sub("", jar.name)


class SparkEnvironment:
    """Where the Spark environment lives for one configuration, and Spark's settings for it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.venv = settings.cache_dir / "spark-venv"
        self.lock = settings.root / "spark" / "requirements.lock"
        self.pom = settings.root / "spark" / "pom.xml"

    @property
    def python(self) -> Path:
        """The environment's interpreter (the drivers' and the executors' Python)."""
        return self.venv / "bin" / "python"

    @property
    def spark_home(self) -> Path:
        """The pyspark package: Spark's jars and ``bin/spark-class``, ``bin/spark-submit``."""
        return self.venv / "lib" / "python3.11" / "site-packages" / "pyspark"

    @property
    def jars_dir(self) -> Path:
        """The jars of ``spark/pom.xml`` (one folder per content of the pom)."""
        return self.settings.cache_dir / "spark-jars" / _digest(self.pom)

    def jars(self) -> list[Path]:
        """The extra jars for ``spark.jars`` (resolved already: see :meth:`install`)."""
        return sorted(self.jars_dir.glob("*.jar"))

    def master_url(self) -> str:
        """``spark.master_url`` if set, else ``local[*]`` in the driver."""
        return self.settings.spark.master_url or "local[*]"

    def conf(self) -> dict[str, str]:
        """Spark's configuration for ghlake: jars, 127.0.0.1, the lake's s3a and Delta.

        Everything a session, ``spark-submit`` (``--conf``) or a notebook needs to reach the
        topic and the lake; secrets come from the settings, never from a file.
        """
        settings = self.settings
        spark = settings.spark
        minio = settings.minio
        scheme = "https" if minio.secure else "http"
        driver_ui = spark.driver_ui_port
        return {
            "spark.jars": ",".join(str(jar) for jar in self.jars()),
            "spark.driver.host": spark.host,
            "spark.driver.bindAddress": spark.host,
            "spark.driver.memory": spark.driver_memory,
            "spark.ui.enabled": "true" if driver_ui else "false",
            "spark.ui.port": str(driver_ui or 4040),
            "spark.pyspark.python": str(self.python),
            "spark.pyspark.driver.python": str(self.python),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(spark.worker_cores * spark.workers),
            "spark.ui.showConsoleProgress": "false",  # logs and notebooks, not a terminal
            # The drivers' JVMs take spark.java_options from SPARK_SUBMIT_OPTS (see env()):
            # a driver's own JVM starts before a session's configuration is read.
            "spark.executor.extraJavaOptions": spark.java_options,
            # Delta rebuilds a table's state in this many tasks (50 by default: slow here).
            "spark.databricks.delta.snapshotPartitions": str(spark.worker_cores * spark.workers),
            "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
            "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
            "spark.hadoop.fs.s3a.endpoint": f"{scheme}://{minio.endpoint}",
            "spark.hadoop.fs.s3a.endpoint.region": minio.region,
            "spark.hadoop.fs.s3a.access.key": settings.minio_access_key,
            "spark.hadoop.fs.s3a.secret.key": settings.minio_secret_key,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(minio.secure).lower(),
            "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            # MinIO has no S3 Express or checksum headers of newer SDKs to offer.
            "spark.hadoop.fs.s3a.checksum.validation": "false",
        }

    def env(self) -> dict[str, str]:
        """Environment variables of Spark processes (drivers, master, workers)."""
        return {
            "SPARK_HOME": str(self.spark_home),
            "SPARK_LOCAL_IP": self.settings.spark.host,
            "PYSPARK_PYTHON": str(self.python),
            "PYSPARK_DRIVER_PYTHON": str(self.python),
            "SPARK_LOG_DIR": str(self.settings.state_dir / "logs"),
            "SPARK_WORKER_DIR": str(self.settings.state_dir / "spark" / "work"),
            # spark.java_options of the JVMs that spark-submit (pyspark, notebooks, jobs) and
            # spark-class (the master, the workers) start; executors take spark.executor.*.
            "SPARK_SUBMIT_OPTS": self.settings.spark.java_options,
            "SPARK_DAEMON_JAVA_OPTS": self.settings.spark.java_options,
        }

    def lake_url(self, table: str | None = None) -> str:
        """The s3a URL of a lake table (the lake's own table by default)."""
        return f"s3a://{self.settings.minio.bucket}/{table or self.settings.lake.table}"

    def checkpoint_url(self, query: str) -> str:
        """Where a Spark streaming query keeps its checkpoint: in the lake's bucket."""
        return f"s3a://{self.settings.minio.bucket}/_checkpoints/spark/{query}"

    def consumer_group(self, query_name: str) -> str:
        """The consumer group a named streaming query's progress is committed to (its lag)."""
        return f"ghlake-spark-{query_name}"

    def install(self) -> None:
        """Create the virtual environment and fetch the jars, each once per pin."""
        self._install_venv()
        self._install_jars()
        self._write_defaults()

    def _write_defaults(self) -> None:
        """The jars and Delta's extension in ``conf/spark-defaults.conf`` of the environment.

        ``spark-submit`` starts the driver's JVM before the job's Python runs, so jars set
        by the session builder come too late for the driver's classpath; Spark reads this
        file at every launch. Nothing secret goes here (s3a's keys come from the settings).
        """
        keys = ("spark.jars", "spark.sql.extensions", "spark.sql.catalog.spark_catalog")
        conf = self.conf()
        lines = [f"{key} {conf[key]}" for key in keys]
        (self.spark_home / "conf").mkdir(exist_ok=True)
        (self.spark_home / "conf" / "spark-defaults.conf").write_text("\n".join(lines) + "\n")

    def _install_venv(self) -> None:
        # The lock, and the checkout ghlake is installed from (editable): another checkout
        # sharing the cache installs itself again, its dependencies already satisfied.
        stamp, pinned = self.venv / _STAMP, f"{_digest(self.lock)} {self.settings.root}"
        if stamp.is_file() and stamp.read_text() == pinned:
            return
        uv_install(self.settings, self.venv, "--require-hashes", "-r", str(self.lock),
                   what="installing spark/requirements.lock")  # fmt: skip
        uv_install(self.settings, self.venv, "--no-deps", "-e", str(self.settings.root),
                   what="installing ghlake into the Spark venv")  # fmt: skip
        # The notebooks' kernel: this interpreter, registered inside the environment.
        run_tool(
            [str(self.python), "-m", "ipykernel", "install", "--sys-prefix",
             "--name", "ghlake-spark", "--display-name", "ghlake Spark"],
            "registering the Jupyter kernel",
        )  # fmt: skip
        stamp.write_text(pinned)

    def _install_jars(self) -> None:
        fill_once(
            self.jars_dir, lambda folder: (folder / ".complete").is_file(), self._resolve_jars
        )

    def _resolve_jars(self, staging: Path) -> None:
        if shutil.which("mvn") is None:
            raise ServiceError("Maven (mvn) is needed once to fetch the Spark jars")
        run_tool(
            ["mvn", "-B", "-q", "-f", str(self.pom), "dependency:copy-dependencies",
             "-DincludeScope=runtime", f"-DoutputDirectory={staging}"],
            "resolving spark/pom.xml with Maven",
        )  # fmt: skip
        shipped = {_artifact(jar) for jar in (self.spark_home / "jars").glob("*.jar")}
        for jar in staging.glob("*.jar"):
            if _artifact(jar) in shipped:
                jar.unlink()  # pyspark has it (perhaps at another version: pyspark's wins)
        (staging / ".complete").write_text(_digest(self.pom) + "\n")


def ensure_spark_environment(settings: Settings) -> SparkEnvironment:
    """The Spark environment, installed first if the lock or the pom changed."""
    environment = SparkEnvironment(settings)
    environment.install()
    return environment


def _ui_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def _spark_class(environment: SparkEnvironment, main: str, *args: str) -> list[str]:
    return [str(environment.spark_home / "bin" / "spark-class"), main, *args]


def master_spec(settings: Settings) -> ProcessSpec:
    """The standalone master: ``spark.master_port``, its web UI on ``spark.master_ui_port``."""
    spark = settings.spark
    environment = SparkEnvironment(settings)
    ui = f"http://{spark.host}:{spark.master_ui_port}"
    argv = _spark_class(
        environment, "org.apache.spark.deploy.master.Master", "--host", spark.host,
        "--port", str(spark.master_port), "--webui-port", str(spark.master_ui_port),
    )  # fmt: skip
    return ProcessSpec(
        name="spark-master",
        argv=argv,
        address=f"{spark.cluster_url}, UI {ui}",
        health=lambda: _ui_ok(f"{ui}/json/"),
        env={**environment.env(), "SPARK_NO_DAEMONIZE": "1"},
        ready_timeout=90,
    )


def worker_name(index: int) -> str:
    """The service name of the ``index``-th worker (from 1)."""
    return f"spark-worker-{index}"


def _worker_registered(master_ui: str, worker_ui: str) -> bool:
    """The worker's UI answers and the master lists it as ALIVE."""
    if not _ui_ok(worker_ui):
        return False
    workers = httpx.get(f"{master_ui}/json/", timeout=2).json().get("workers", [])
    port = worker_ui.rsplit(":", 1)[1]
    return any(
        w.get("state") == "ALIVE" and str(w.get("webuiaddress", "")).endswith(f":{port}")
        for w in workers
    )


def worker_spec(settings: Settings, index: int) -> ProcessSpec:
    """The ``index``-th worker (from 1): its UI on ``worker_ui_port + index - 1``."""
    spark = settings.spark
    environment = SparkEnvironment(settings)
    ui = f"http://{spark.host}:{spark.worker_ui_port + index - 1}"
    master_ui = f"http://{spark.host}:{spark.master_ui_port}"
    work_dir = settings.state_dir / "spark" / worker_name(index)
    argv = _spark_class(
        environment, "org.apache.spark.deploy.worker.Worker", "--host", spark.host,
        "--webui-port", str(spark.worker_ui_port + index - 1),
        "--cores", str(spark.worker_cores), "--memory", spark.worker_memory,
        "--work-dir", str(work_dir), spark.cluster_url,
    )  # fmt: skip
    return ProcessSpec(
        name=worker_name(index),
        argv=argv,
        address=f"{spark.host}, UI {ui}",
        health=lambda: _worker_registered(master_ui, ui),
        env={**environment.env(), "SPARK_NO_DAEMONIZE": "1"},
        ready_timeout=90,
    )
