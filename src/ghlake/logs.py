"""Structured logs: one JSON object per line, with the fields a log call passes in ``extra``.

``log.info("hour replayed", extra={"hour": "2015-01-01-1", "published": 7427})`` becomes
``{"ts": ..., "level": "info", "logger": ..., "msg": "hour replayed", "hour": ..., ...}``,
so a log says which hour, partition or offset it is about and can be queried.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["JsonFormatter", "configure_logging", "logging_dict_config"]

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line, extras included."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # Partition-keyed extras (offsets) have int keys; a dataclass such as an Hour is
        # written as its str() (an hour's GH Archive name), not field by field.
        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
        return orjson.dumps(entry, default=str, option=options).decode()


def logging_dict_config(level: str | int) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` sending JSON lines to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "level": level}
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure_logging(level: str | int = "INFO") -> None:
    """Send every log record to stderr as JSON."""
    import logging.config  # noqa: PLC0415

    logging.config.dictConfig(logging_dict_config(level))
