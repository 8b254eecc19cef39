"""Fixtures for the deployment tests: the platform started from the images' CMDs, with the
blueprint's environment (local stand-ins for Render's database and bucket), once per session.

MLflow runs with the blueprint's basic auth on; the champion is trained into it through that
auth, and the API loads it with the password the blueprint hands it (fromService)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.deploy_helpers import LocalBlueprint, Started, start_image_cmd, stop, wait_for_http


@contextmanager
def running(service: str, env: dict[str, str], log: Path, health_path: str) -> Iterator[Started]:
    """An image's CMD as a local process, healthy on `health_path`, stopped afterwards."""
    started = start_image_cmd(service, env, log)
    try:
        wait_for_http(started, health_path, timeout=150, status=200)
        yield started
    finally:
        stop(started)


@pytest.fixture(scope="session")
def local_blueprint(tmp_path_factory: pytest.TempPathFactory) -> LocalBlueprint:
    return LocalBlueprint(tmp_path_factory.mktemp("blueprint"))


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("image-logs")


@pytest.fixture(scope="session")
def mlflow_from_image(
    local_blueprint: LocalBlueprint, tmp_path_factory: pytest.TempPathFactory, logs
) -> Iterator[Started]:
    """MLflow started from Dockerfile.mlflow's CMD with the blueprint's environment (auth on)."""
    artifacts = tmp_path_factory.mktemp("mlflow-artifacts")
    env = local_blueprint.env("mlflow", {"MLFLOW_ARTIFACTS_DESTINATION": str(artifacts)})
    with running("mlflow", env, logs / "mlflow.log", "/health") as started:
        yield started


@pytest.fixture(scope="session")
def image_champion(mlflow_from_image: Started) -> str:
    """Train (small and quick), register and promote a champion in the image's MLflow, as the
    blueprint's admin."""
    from ml.config import Settings
    from ml.data import generated_dataset
    from ml.registry import Registry
    from ml.train import train_model
    from tests.utils import session_params

    params = session_params()
    params.train.num_boost_round = 100
    small_dataset = generated_dataset(5_000, seed=7)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        mp.setenv("MLFLOW_TRACKING_PASSWORD", mlflow_from_image.env["MLFLOW_AUTH_ADMIN_PASSWORD"])
        settings = Settings(mlflow_tracking_uri=mlflow_from_image.url, experiment_name="deploy-tests")
        run = train_model(small_dataset, params, settings, quiet=True)
        registry = Registry(settings.model_name, mlflow_from_image.url, params.gate)
        version = registry.register(run.model_uri, run.run_id)
        # Forced: the quick test model is no candidate for a real gate (AUC, fairness).
        registry.promote(version, settings.model_alias, "deployment test champion", who="pytest", force=True)
    return version


@pytest.fixture(scope="session")
def api_from_image(
    request: pytest.FixtureRequest, mlflow_from_image: Started, local_blueprint: LocalBlueprint, logs: Path
) -> Iterator[Started]:
    """The API started from Dockerfile.api's CMD, serving the image's champion."""
    request.getfixturevalue("image_champion")
    env = local_blueprint.env("api", {"MLFLOW_TRACKING_URI": mlflow_from_image.url})
    with running("api", env, logs / "api.log", "/health") as started:
        yield started


@pytest.fixture(scope="session")
def app_from_image(
    request: pytest.FixtureRequest, mlflow_from_image: Started, local_blueprint: LocalBlueprint, logs: Path
) -> Iterator[Started]:
    """The console started from Dockerfile.app's CMD, pointed at the API."""
    api_url = request.getfixturevalue("api_from_image").url
    env = local_blueprint.env("app", {"MLFLOW_TRACKING_URI": mlflow_from_image.url, "API_URL": api_url})
    with running("app", env, logs / "app.log", "/_stcore/health") as started:
        yield started
