"""The three settings objects (CLI, API, console) share one base: the same names, and DATABASE_URL as
platforms give it (`postgres://`) made SQLAlchemy's once, by the base's validator."""

from __future__ import annotations

import pytest

from api.core.config import ApiSettings
from app.settings import ConsoleSettings
from ml.config import Settings

SETTINGS = (Settings, ApiSettings, ConsoleSettings)


@pytest.mark.parametrize("settings_class", SETTINGS)
def test_database_url_is_normalised_once_for_every_part(settings_class, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.internal:5432/scoring")
    monkeypatch.setenv("MODEL_NAME", "credit-scoring-eu")
    settings = settings_class()
    assert settings.database_url == "postgresql+psycopg2://app@db.internal:5432/scoring"
    assert settings.model_name == "credit-scoring-eu"


def test_defaults_where_no_database_is_set(monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert ApiSettings().database_url == "sqlite:///inference_log.db"  # the API always logs
    assert ConsoleSettings().database_url is None and Settings().database_url is None
