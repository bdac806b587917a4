"""Logging set-up for ``laminar serve``: readable text, or one JSON object per line.

A pipeline's task sets :data:`PIPELINE` (a context variable, so it follows the task and nothing
else): every line logged while it runs, Laminar's or a library's, carries the pipeline's name
(a ``pipeline`` field in JSON, ``[pipeline name]`` in text)."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import orjson

PIPELINE: ContextVar[str | None] = ContextVar("laminar_pipeline", default=None)


class PipelineFilter(logging.Filter):
    """Puts the running pipeline's name (or None) on every record as ``record.pipeline``."""

    def filter(self, record: logging.LogRecord) -> bool:
        pipeline = PIPELINE.get()
        record.pipeline = pipeline
        record.pipeline_tag = f" [pipeline {pipeline}]" if pipeline else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        pipeline = getattr(record, "pipeline", None)
        if pipeline:
            entry["pipeline"] = pipeline
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PipelineFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s%(pipeline_tag)s: %(message)s")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # its INFO lines narrate every consumer
