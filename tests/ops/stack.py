"""Real API replicas for the operations tests: one process per replica, its own cwd, cache and port.

Each replica runs in a directory of its own, so its model cache and drift reports (`reports/`,
relative to the working directory) belong to it alone, as they would on separate machines
(tests/api's `launch_api` runs replicas in the repository root, where `reports/` is shared).
"""

from __future__ import annotations

import math
import signal
from pathlib import Path
from typing import Any

import httpx

from ml.generate import generate_applications
from tests.servers import API_ENV, Server, api_command, free_port, start_process

# uvicorn re-raises the signal it handled once its graceful shutdown is over, so -SIGTERM is clean too.
GRACEFUL_EXIT = {0, -signal.SIGTERM}


def start_api(workdir: Path, env: dict[str, str], port: int | None = None) -> Server:
    """Start an API replica (`python -m api`) in `workdir` and wait until /health answers 200."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    defaults = {
        **API_ENV,
        "MODEL_CACHE_DIR": str(workdir / "model-cache"),
        "DATABASE_URL": f"sqlite:///{workdir / 'inference_log.db'}",
        "API_KEYS": "",
        "ADMIN_API_KEYS": "",
        "LOG_LEVEL": "WARNING",
    }
    return start_process(
        api_command(port, "--no-access-log"),
        f"http://127.0.0.1:{port}",
        workdir / "api.log",
        env={**defaults, **env},
        cwd=workdir,
    )


def client_records(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """`n` generated applications as JSON-ready feature dicts (no target, missing values as null, as a
    client system sends what it does not know: left out, they would be absent features)."""
    frame = generate_applications(n, seed).drop(columns=["TARGET"])
    return [
        {
            key: None if isinstance(value, float) and math.isnan(value) else value
            for key, value in record.items()
        }
        for record in frame.to_dict(orient="records")
    ]


def served_version(url: str) -> str | None:
    return httpx.get(f"{url}/health", timeout=5).json()["model_version"]


def health(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/health", timeout=5).json()
