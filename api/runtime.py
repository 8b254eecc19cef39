"""How an API replica process is set up: the environment it needs before it starts, and the imports it
must never make. `python -m api` (api/__main__.py) applies both; Dockerfile.api and `make run` set the
environment from `api/replica.env`.

LightGBM imports scikit-learn (and with it much of SciPy) only to offer its sklearn-style wrappers,
which the API never uses (their cost in memory and start-up: bench/README.md). Marking them
unavailable before LightGBM is first imported makes it skip them, as it does on an install without
them. httpx likewise imports its command-line client (rich, pygments: ~45 ms) unless it is missing.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Mapping
from pathlib import Path

UNUSED_BY_THE_API = ("sklearn", "dask", "matplotlib", "graphviz", "evidently", "httpx._main")
REPLICA_ENV_FILE = Path(__file__).with_name("replica.env")


def block_unused_imports() -> None:
    """Make the heavy optional libraries unimportable; call it before anything imports LightGBM."""
    for name in UNUSED_BY_THE_API:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def replica_env(path: Path = REPLICA_ENV_FILE) -> dict[str, str]:
    """The `NAME=value` lines of `api/replica.env` (process-level tuning read by glibc and OpenMP at start)."""
    env = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            env[name.strip()] = value.strip()
    return env


def missing_replica_env(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The replica.env names this process started without (too late to apply them from inside)."""
    return [name for name in replica_env() if name not in environ]


def pause_collection() -> None:
    """No garbage collection while the replica starts: imports and the model make ~160,000 long-lived
    objects and almost no garbage (1,250 cyclic objects), and the collector's passes over them cost
    ~0.2 s of a ~1.2 s start (bench/README.md). `settle_heap` turns it back on."""
    gc.disable()


# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). The log and
# shadow writer threads run Python between their database calls; with the default, a request arriving
# then waited up to 5 ms for the event loop's turn, which was the single-row p99 at concurrency 1.
GIL_SWITCH_INTERVAL_S = 0.0005


def share_the_gil() -> None:
    """Let the event loop take the GIL back from a writer thread within GIL_SWITCH_INTERVAL_S."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def settle_heap() -> None:
    """Move everything alive after start-up (imported modules, the model, FastAPI's routes: ~160,000
    objects) out of the collector's reach, and collect from then on: a full collection otherwise walks
    them all, a ~100 ms stall of every request in flight a few times a minute under load (bench/README.md,
    the tail findings). The start-up's little garbage is frozen with them: collecting it first took
    0.07-0.13 s of start-up for a few hundred kB."""
    gc.freeze()
    gc.enable()
