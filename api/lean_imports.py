"""Keep optional heavy libraries out of the API process.

LightGBM imports scikit-learn (and with it much of SciPy) only to offer its sklearn-style wrappers,
which the API never uses; that costs ~35 MB of resident memory and ~0.3 s of start-up per replica.
Marking them unavailable before LightGBM is first imported makes it skip them, as it does on an
install without them. Import this module first, and only in the API process.
"""

from __future__ import annotations

import ctypes
import os
import sys

UNUSED_BY_THE_API = ("sklearn", "dask", "matplotlib", "graphviz")


def quiet_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning: after a multi-threaded batch predict, spinning
    workers would otherwise take a core from the single-row requests that follow. Must run before
    LightGBM is imported."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def block_unused_imports() -> None:
    for name in UNUSED_BY_THE_API:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def limit_heap_growth(arenas: int = 2, mmap_threshold: int = 1024 * 1024) -> None:
    """glibc malloc tuning (what MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ do, from inside).

    A big CSV batch allocates large numpy and pandas buffers from worker threads: with glibc's
    defaults each thread gets its own arena and the mmap threshold creeps up after every free, so
    freed batch memory stays resident. Fixing both keeps a replica's RSS near its idle size.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
        libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune
