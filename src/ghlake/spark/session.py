"""A SparkSession configured from the platform: master, jars, 127.0.0.1, s3a, Delta."""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

from ghlake.platform import Platform

__all__ = ["spark_session"]


def spark_session(platform: Platform, app_name: str, *, master: str | None = None) -> SparkSession:
    """The session of one job or notebook, on ``master`` if given; else, under ``spark-submit``,
    on its ``--master``; else on the settings' ``spark.master_url`` or ``local[*]``.

    The environment's variables are set first: the JVM reads them.
    """
    environment = platform.spark
    for key, value in environment.env().items():
        os.environ.setdefault(key, value)
    builder = SparkSession.builder.appName(app_name)
    # spark-submit runs the job's Python with the gateway of the JVM it started already.
    if master or "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = builder.master(master or environment.master_url())
    for key, value in environment.conf().items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
