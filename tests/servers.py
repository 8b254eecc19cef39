"""Real servers for tests: the process helpers of scripts/servers.py, plus MLflow and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg2

from scripts.servers import API_ENV, BIN, ROOT, Server, api_command, free_port, start_process, wait_http

__all__ = [  # the process helpers of scripts/servers.py (shared with `make run` and bench/), then ours
    "API_ENV",
    "BIN",
    "ROOT",
    "Server",
    "api_command",
    "free_port",
    "start_process",
    "wait_http",
    "MLFLOW_ENV",
    "mlflow_command",
    "start_mlflow",
    "start_mlflow_command",
    "create_postgres_database",
    "drop_postgres_database",
]


def mlflow_command(backend_uri: str, artifacts_dir: Path, port: int) -> list[str]:
    return [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        str(artifacts_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def start_mlflow(workdir: Path, backend_uri: str | None = None, port: int | None = None) -> Server:
    """A real `mlflow server` with its own store (SQLite in `workdir` unless `backend_uri` is given)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    backend_uri = backend_uri or f"sqlite:///{workdir / 'mlflow.db'}"
    return start_mlflow_command(mlflow_command(backend_uri, workdir / "mlruns", port), port, workdir)


# MLflow's job runner (GenAI scorers) forks a consumer per core: nothing here uses it.
MLFLOW_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def start_mlflow_command(command: list[str], port: int, workdir: Path) -> Server:
    return start_process(
        command, f"http://127.0.0.1:{port}", workdir / "mlflow.log", env=MLFLOW_ENV, cwd=workdir
    )


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh database on the server of `admin_url`; return (its URL, its name)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}", name


def drop_postgres_database(admin_url: str, name: str) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
