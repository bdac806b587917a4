"""Log lines of a pipeline's task name the pipeline, in JSON and in text (no sockets)."""

from __future__ import annotations

import asyncio
import io
import logging

import orjson

from gateway.logs import PIPELINE, JsonFormatter, PipelineFilter


def _handler(formatter: logging.Formatter) -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PipelineFilter())
    handler.setFormatter(formatter)
    return handler, stream


async def test_lines_logged_in_a_pipeline_task_carry_its_name_and_others_do_not() -> None:
    json_handler, json_out = _handler(JsonFormatter())
    text_handler, text_out = _handler(logging.Formatter("%(name)s%(pipeline_tag)s: %(message)s"))
    logger = logging.getLogger("tests.pipeline_logs")
    logger.addHandler(json_handler)
    logger.addHandler(text_handler)
    logger.propagate = False

    async def pipeline_task() -> None:
        PIPELINE.set("orders_pipe")
        logger.warning("retrying")

    try:
        await asyncio.create_task(pipeline_task())
        logger.warning("a session line")  # the task's context stayed with the task
    finally:
        logger.removeHandler(json_handler)
        logger.removeHandler(text_handler)
    first, second = (orjson.loads(line) for line in json_out.getvalue().splitlines())
    assert (first["pipeline"], first["message"]) == ("orders_pipe", "retrying")
    assert "pipeline" not in second
    assert text_out.getvalue().splitlines() == [
        "tests.pipeline_logs [pipeline orders_pipe]: retrying",
        "tests.pipeline_logs: a session line",
    ]
