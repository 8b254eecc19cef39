"""Fixtures of the operations tests: client rows, a private inference-log database, a private model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ml.config import Params
from ml.registry import Registry
from tests.ops.stack import client_records
from tests.servers import create_postgres_database, drop_postgres_database
from tests.utils import Champion


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    return client_records(300)


@pytest.fixture
def log_url(tmp_path: Path) -> Iterator[str]:
    """An empty inference log of this test's own: a new PostgreSQL database when TEST_DATABASE_URL
    is set (the production store), else a SQLite file. Its own, so row counts are exact."""
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        yield f"sqlite:///{tmp_path / 'inference_log.db'}"
        return
    url, name = create_postgres_database(admin_url)
    yield url
    drop_postgres_database(admin_url, name)


@dataclass(frozen=True)
class OwnModel:
    """Two versions of the champion's model under a name of the test's own; `first` is champion."""

    name: str
    first: str
    second: str
    registry: Registry


@pytest.fixture
def own_model(model_name: str, champion: Champion, params: Params) -> OwnModel:
    registry = Registry(model_name, champion.tracking_uri, params.gate)
    first = registry.register(champion.run.model_uri, champion.run.run_id)
    second = registry.register(champion.run.model_uri, champion.run.run_id)
    registry.promote(first, "champion", "ops test start", who="pytest")
    return OwnModel(model_name, first, second, registry)
