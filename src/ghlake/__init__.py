"""ghlake: GitHub events through Kafka into a Delta Lake table (MinIO) and a ClickHouse warehouse.

The package is cut by domain: :mod:`ghlake.hours`, :mod:`ghlake.sources`,
:mod:`ghlake.events`, :mod:`ghlake.kafka`, :mod:`ghlake.lake`,
:mod:`ghlake.warehouse` and :mod:`ghlake.services` form the core;
:mod:`ghlake.cli`, :mod:`ghlake.api` and :mod:`ghlake.streams` are the edges
that import it. :class:`ghlake.platform.Platform` is the object every edge calls.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
