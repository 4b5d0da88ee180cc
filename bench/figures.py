"""One measured figure, and the helpers every pass uses to make them."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    database: str
    target: float | None = None
    limit: float | None = None
    # "lower" (times, memory) or "higher" (throughput): which way the target is read.
    better: str = "lower"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.better == "lower":
            return self.value < self.target
        return self.value >= self.target

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["met"] = self.met
        if not out["extra"]:
            out.pop("extra")
        return out


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (the 'inclusive' method), pct in 0..100."""
    if not values:
        return math.nan
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * pct / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _status_mib(key: str) -> float:
    try:
        with open(f"/proc/{os.getpid()}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def rss_mib() -> float:
    """Current resident set size of this process in MiB (Linux)."""
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    """Peak resident set size of this process image in MiB (Linux VmHWM).

    Not getrusage's ru_maxrss: Linux carries that across execve, so a child started by a big
    parent reports the parent's size."""
    return _status_mib("VmHWM")
