"""Fuzz targets: what must hold for any input, whatever its bytes.

* the protocol decoder (:func:`gateway.protocol.messages.decode_startup`, ``decode_frontend``)
  either needs more bytes (None), decodes a message that re-encodes to the bytes it came from, or
  raises the protocol's own error (a LaminarError with a SQLSTATE), never anything else;
* the SQL front end (parse, classify, compile for DuckDB and bind: ``Session.prepare``) either
  prepares the statement or raises a LaminarError, never anything else (an IndexError or a
  RecursionError there would reach the client as XX000).

Each target takes bytes so atheris (``tests/fuzz/run.py``) and the regression test
(``tests/unit/test_fuzz_regressions.py``) drive the same code.
"""

from __future__ import annotations

import contextlib

from gateway.errors import LaminarError
from gateway.protocol import messages as m
from gateway.protocol.state import ConnectionState
from gateway.session import Session

MAX_SIZE = 1 << 20


def protocol(data: bytes) -> None:
    """Decode startup packets and frontend messages from the input."""
    with contextlib.suppress(LaminarError):
        m.decode_startup(data)
    offset = 0
    while offset < len(data):
        try:
            decoded = m.decode_frontend(data, MAX_SIZE, offset)
        except LaminarError:
            return
        if decoded is None:
            return
        message, offset = decoded
        encode = getattr(message, "encode", None)
        if encode is not None:
            encode()


_session: Session | None = None


def _shared_session() -> Session:
    global _session  # noqa: PLW0603 - one session for every input: DuckDB start-up is slow
    if _session is None:
        _session = Session(
            user="fuzz", database="laminar", startup={}, backend_pid=1, state=ConnectionState()
        )
    return _session


def sql(data: bytes) -> None:
    """Prepare the input as SQL text (invalid UTF-8 replaced, as the decoder would refuse it)."""
    text = data.decode("utf-8", errors="replace").replace("\x00", "")
    with contextlib.suppress(LaminarError):
        _shared_session().prepare_all(text)
