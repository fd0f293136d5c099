"""engines/acceleration/memory.py: the render/train processes keep their working memory (glibc mallopt)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import ctypes, sys
from regionpaint.engines.acceleration.memory import keep_working_memory, peak_rss_mb, reset_peak_rss
applied = keep_working_memory()
assert keep_working_memory() == applied  # idempotent
# With mmap off, a freed 64 MiB block stays in the heap: the next one of the same size faults nothing in.
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
first = libc.malloc(size); ctypes.memset(first, 1, size); libc.free(first)
import resource
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = libc.malloc(size); ctypes.memset(second, 1, size); libc.free(second)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(applied, faults, reset_peak_rss(), peak_rss_mb() is not None)
"""


def _run(env_value: str) -> list[str]:
    env = dict(os.environ, REGIONPAINT_MALLOC=env_value)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_kept_memory_is_reused_without_page_faults_and_default_gives_it_back():
    applied, kept_faults, reset, peak = _run("")
    assert applied == "True" and reset == "True" and peak == "True"
    default_applied, default_faults, _, _ = _run("default")
    assert default_applied == "False"
    # 64 MiB = 16384 pages: glibc's default mmaps the block and faults every page in again.
    assert int(default_faults) > 10_000
    assert int(kept_faults) < 1_000
