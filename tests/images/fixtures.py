"""One build of the three images and one set of containers for the whole session, shared by tests/images
and tests/deploy (a plugin of tests/conftest.py), run the way the blueprint runs them: MLflow with
basic auth on, PostgreSQL (a database of the session's own, shared as on Render) and artifacts in an
S3 bucket (moto_server); the API serving the champion trained from the host; the console pointed at
the API. Each container gets Render free's 512 MB.

The API container reads a params.yaml whose quality gate differs from the shipped one (mounted at
PARAMS_PATH), so the tests see which gate it applies. Peak memory per container is printed at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.deploy.deploy_helpers import LocalBlueprint
from tests.images.containers import (
    AnonymousPeak,
    Container,
    ImageBuild,
    docker_unavailable,
    image_size_mb,
)
from tests.servers import BIN, ROOT, Server, free_port, start_process

BUCKET = "mlflow-artifacts"
S3_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
API_GATE_MIN_AUC = 0.99  # what the API container's params.yaml says; the shipped file says 0.70
CONSOLE_USER = ("operator", "scorer", "image-tests-" + uuid.uuid4().hex)  # name, role, password
REPORT: dict[str, dict[str, float | bool]] = {}


@dataclass(frozen=True)
class Versions:
    """The registered versions: `champion` promoted at start, `challenger` promoted by a test."""

    champion: str
    challenger: str
    admin_password: str


BUILDS: list[ImageBuild] = []  # the session's one build, started when collection ends


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building the images as soon as the session is known to need them: the builds (minutes on
    a new machine, mostly downloads) then overlap the tests that run before the image tests."""
    needs_images = any("images" in getattr(item, "fixturenames", ()) for item in session.items)
    if needs_images and not session.config.option.collectonly and docker_unavailable() is None:
        BUILDS.append(ImageBuild(Path(tempfile.mkdtemp(prefix="image-builds-"))))


def pytest_sessionfinish(session: pytest.Session) -> None:
    for build in BUILDS:
        build.stop()


@pytest.fixture(scope="session")
def images() -> dict[str, float]:
    """The three images built once for the session (cached layers reused); their sizes in MB."""
    reason = docker_unavailable()
    if reason:
        pytest.skip(f"image tests need a Docker engine: {reason}")
    if not BUILDS:  # collected without them, e.g. a test asking for `images` only at run time
        BUILDS.append(ImageBuild(Path(tempfile.mkdtemp(prefix="image-builds-"))))
    seconds = BUILDS[0].wait()
    sizes = {service: image_size_mb(service) for service in ("api", "app", "mlflow")}
    REPORT["build"] = {"seconds": round(seconds, 1), **{f"{s} MB": round(mb) for s, mb in sizes.items()}}
    return sizes


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An S3-compatible server (moto) with the artifact bucket, as Render's MLflow uses."""
    import boto3

    port = free_port()
    server: Server = start_process(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        f"http://127.0.0.1:{port}",
        tmp_path_factory.mktemp("moto") / "moto.log",
        health_path="/moto-api/data.json",
    )
    boto3.client("s3", endpoint_url=server.url, **_boto_keys()).create_bucket(Bucket=BUCKET)
    yield server.url
    server.stop()


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_KEYS["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_KEYS["AWS_DEFAULT_REGION"],
    }


@pytest.fixture(scope="session")
def blueprint(tmp_path_factory: pytest.TempPathFactory) -> LocalBlueprint:
    return LocalBlueprint(tmp_path_factory.mktemp("image-blueprint"))


# The anonymous memory of each shared container, sampled from its start to the session's end.
ANONYMOUS_PEAKS: dict[str, AnonymousPeak] = {}


@pytest.fixture(scope="session")
def containers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Container]]:
    """Every container of the session, removed at the end (test_zz_memory reads their memory first)."""
    started: dict[str, Container] = {}
    yield started
    for service, container in started.items():
        ANONYMOUS_PEAKS[service].stop()
        container.remove()


def _start(
    containers: dict[str, Container], workdir: Path, service: str, env: dict[str, str], **kw
) -> Container:
    port = free_port()
    name = f"credit-scoring-test-{service}-{uuid.uuid4().hex[:8]}"
    container = Container(service, name, f"http://127.0.0.1:{port}", {**env, "PORT": str(port)}, **kw)
    containers[service] = container
    container.start(workdir / f"{service}.env")
    ANONYMOUS_PEAKS[service] = AnonymousPeak(container, interval_s=0.25).start()
    return container


@pytest.fixture(scope="session")
def mlflow_container(
    images,
    containers,
    blueprint: LocalBlueprint,
    fresh_postgres_database: str,
    s3_endpoint: str,
    tmp_path_factory,
) -> Container:
    env = blueprint.env(
        "mlflow",
        {
            "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{BUCKET}/mlflow",
            "MLFLOW_S3_ENDPOINT_URL": s3_endpoint,
            **S3_KEYS,
        },
    )
    env["MLFLOW_BACKEND_STORE_URI"] = fresh_postgres_database
    container = _start(containers, tmp_path_factory.mktemp("mlflow-container"), "mlflow", env)
    container.wait_healthy("/health")
    return container


@pytest.fixture(scope="session")
def versions(mlflow_container: Container) -> Versions:
    """Two versions registered from the host through MLflow's auth; the first promoted champion."""
    from ml.config import Settings
    from ml.data import generated_dataset
    from ml.registry import Registry
    from ml.train import train_model
    from tests.utils import session_params

    params = session_params()
    params.train.num_boost_round = 100
    password = mlflow_container.env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        mp.setenv("MLFLOW_TRACKING_PASSWORD", password)
        settings = Settings(mlflow_tracking_uri=mlflow_container.url, experiment_name="image-tests")
        registry = Registry(settings.model_name, mlflow_container.url, params.gate)
        run = train_model(generated_dataset(5_000, seed=7), params, settings, quiet=True)
        # One training, two versions: what the API must follow is the alias, not a different model.
        champion, challenger = (registry.register(run.model_uri, run.run_id) for _ in range(2))
        # Forced: the quick test model is no candidate for a real gate (AUC, fairness); the API's gate is tested.
        registry.promote(champion, settings.model_alias, "image test champion", who="pytest", force=True)
    return Versions(champion, challenger, password)


@pytest.fixture(scope="session")
def api_params_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped params.yaml with a stricter gate, as an operator's edit would make it."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["gate"]["min_auc"] = API_GATE_MIN_AUC
    path = tmp_path_factory.mktemp("api-params") / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    path.chmod(0o644)
    return path


@pytest.fixture(scope="session")
def api_container(
    containers,
    blueprint: LocalBlueprint,
    mlflow_container: Container,
    versions: Versions,
    fresh_postgres_database: str,
    api_params_file: Path,
    tmp_path_factory,
) -> Container:
    env = blueprint.env("api", {"MLFLOW_TRACKING_URI": mlflow_container.url})
    env |= {"DATABASE_URL": fresh_postgres_database, "MODEL_POLL_INTERVAL_S": "2"}
    container = _start(
        containers,
        tmp_path_factory.mktemp("api-container"),
        "api",
        env,
        volumes=[f"{api_params_file}:/app/params.yaml:ro"],
    )
    container.wait_healthy("/health")
    return container


@pytest.fixture(scope="session")
def app_container(
    containers,
    blueprint: LocalBlueprint,
    mlflow_container: Container,
    api_container: Container,
    fresh_postgres_database: str,
    tmp_path_factory,
) -> Container:
    from app.auth_users import hash_password

    name, role, password = CONSOLE_USER
    synced = {"API_URL": api_container.url, "MLFLOW_TRACKING_URI": mlflow_container.url}
    env = blueprint.env("app", {**synced, "CONSOLE_USERS": f"{name}:{role}:{hash_password(password)}"})
    # Sign-in off for the page test: the sign-in flow itself is tested in tests/app.
    env |= {"DATABASE_URL": fresh_postgres_database, "CONSOLE_LOGIN": "off"}
    container = _start(containers, tmp_path_factory.mktemp("app-container"), "app", env)
    container.wait_healthy("/_stcore/health")
    return container


def pytest_terminal_summary(terminalreporter) -> None:
    if not REPORT:
        return
    terminalreporter.section("images: build, sizes and peak memory under --memory 512m")
    for key, values in REPORT.items():
        terminalreporter.write_line(f"{key:<7} " + ", ".join(f"{k}: {v}" for k, v in values.items()))
    if os.environ.get("IMAGE_REPORT"):
        Path(os.environ["IMAGE_REPORT"]).write_text(yaml.safe_dump(REPORT))
