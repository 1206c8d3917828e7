"""Helpers shared by the benchmarks: phases in child processes, peak memory, tables of ratios."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_phase(script: Path, phase: str, args: list[str]) -> dict[str, Any]:
    """Run one phase in a fresh interpreter, so its time and peak memory are its own."""
    out = subprocess.run(
        [sys.executable, str(script), "--phase", phase, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def emit(result: dict[str, Any]) -> None:
    """A phase's result, as the last line of its output."""
    print(json.dumps(result), flush=True)


class Timer:
    """Wall time (`seconds`) and this process's CPU time (`cpu_seconds`) of a block."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu_start
