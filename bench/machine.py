"""What every benchmark prints first: the machine its figures were measured on."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path


def machine_facts() -> dict[str, str]:
    """Cores (``nproc``), CPU model and Python version of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "python": platform.python_version(),
    }
