"""What the benchmarks share: the machine their figures were measured on, printed first, and the
event loop they run on (uvloop when installed, as the gateway does)."""

from __future__ import annotations

import asyncio
import os
import platform
import re
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

try:
    import uvloop
except ImportError:  # the gateway runs on uvloop when it is installed; so do the benchmarks
    uvloop = None  # type: ignore[assignment]


def machine_facts() -> dict[str, str]:
    """Cores (``nproc``), CPU model and Python version of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "python": platform.python_version(),
    }


def event_loop_name() -> str:
    return "uvloop" if uvloop is not None else "asyncio"


def run_async(coroutine: Awaitable[Any]) -> Any:
    """Run ``coroutine`` to completion on a new event loop of the kind the gateway uses."""

    async def wrapped() -> Any:
        return await coroutine

    if uvloop is not None:
        return uvloop.run(wrapped())
    return asyncio.run(wrapped())
