"""Where models come from: the MLflow registry, reached over its REST API for the frequent calls.

Resolving an alias, checking reachability and downloading proxied artifacts are plain HTTP calls
with a short timeout, so serving costs neither MLflow's import time nor its memory; `mlflow` itself
is imported only for other artifact stores and non-HTTP tracking URIs. MLflow's own HTTP retries are
turned off: a down server must fail fast so the replica keeps serving what it has.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import httpx

from ml.scoring import MODEL_SCORING_SUBDIR

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class SourceUnavailableError(RuntimeError):
    """MLflow could not be reached (or answered with a server error)."""


class AliasNotFoundError(RuntimeError):
    """MLflow answered, but the registered model or its alias does not exist."""


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    run_id: str | None


def _auth() -> httpx.Auth | None:
    """The same credentials MLflow's client would use, from the same environment variables."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return httpx.BasicAuth(user, password)
    if token:
        return _BearerAuth(token)
    return None


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def _missing_alias(response: httpx.Response) -> bool:
    """MLflow answers a removed alias with 400 INVALID_PARAMETER_VALUE "... alias ... not found"."""
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        return False
    return "alias" in message and "not found" in message


class MlflowSource:
    """The registry of one tracking server, as the API needs it."""

    def __init__(self, tracking_uri: str, timeout_s: float) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.timeout_s = timeout_s
        self.is_http = self.tracking_uri.startswith(("http://", "https://"))

    def resolve(self, name: str, alias: str) -> ModelRef:
        """The version behind `name@alias` right now."""
        if not self.is_http:
            return self._resolve_with_client(name, alias)
        try:
            response = httpx.get(
                f"{self.tracking_uri}/api/2.0/mlflow/registered-models/alias",
                params={"name": name, "alias": alias},
                timeout=self.timeout_s,
                auth=_auth(),
            )
        except httpx.HTTPError as exc:
            raise SourceUnavailableError(f"MLflow at {self.tracking_uri} unreachable: {exc!r}") from exc
        if response.status_code == 404 or (response.status_code == 400 and _missing_alias(response)):
            raise AliasNotFoundError(f"no model {name}@{alias} in the registry")
        if response.status_code != 200:
            raise SourceUnavailableError(
                f"MLflow answered HTTP {response.status_code}: {response.text[:200]}"
            )
        version = response.json()["model_version"]
        return ModelRef(name, str(version["version"]), version.get("run_id"))

    def _resolve_with_client(self, name: str, alias: str) -> ModelRef:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        try:
            version = client.get_model_version_by_alias(name, alias)
        except MlflowException as exc:
            raise AliasNotFoundError(str(exc)) from exc
        except Exception as exc:
            raise SourceUnavailableError(repr(exc)) from exc
        return ModelRef(name, str(version.version), version.run_id)

    async def ping(self, client: httpx.AsyncClient) -> bool:
        """Is the tracking server answering? (Non-HTTP stores are local and count as reachable.)"""
        if not self.is_http:
            return True
        try:
            response = await client.get(f"{self.tracking_uri}/health", timeout=min(self.timeout_s, 2.0))
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    def download(self, ref: ModelRef, destination: Path) -> Path:
        """Download the scoring files (booster, schema, meta) of one version into `destination`.

        Artifacts proxied by the tracking server (`mlflow-artifacts:/...`, how this platform runs
        MLflow) are fetched over its REST API; any other store goes through `mlflow` itself.
        """
        try:
            root = self._download_uri(ref).rstrip("/")
            if (
                self.is_http
                and root.startswith("mlflow-artifacts:/")
                and not root.startswith("mlflow-artifacts://")
            ):
                return self._download_proxied(root.removeprefix("mlflow-artifacts:/"), destination)
            return self._download_with_mlflow(root, destination)
        except Exception as exc:
            shutil.rmtree(destination, ignore_errors=True)
            raise SourceUnavailableError(f"download of {ref.name} v{ref.version} failed: {exc!r}") from exc

    def _download_uri(self, ref: ModelRef) -> str:
        if not self.is_http:
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            return client.get_model_version_download_uri(ref.name, ref.version)
        response = httpx.get(
            f"{self.tracking_uri}/api/2.0/mlflow/model-versions/get-download-uri",
            params={"name": ref.name, "version": ref.version},
            timeout=self.timeout_s,
            auth=_auth(),
        )
        response.raise_for_status()
        return str(response.json()["artifact_uri"])

    def _download_proxied(self, root: str, destination: Path) -> Path:
        base = f"{self.tracking_uri}/api/2.0/mlflow-artifacts/artifacts"
        remote = f"{root.strip('/')}/{MODEL_SCORING_SUBDIR.as_posix()}"
        target = destination / MODEL_SCORING_SUBDIR.name
        target.mkdir(parents=True, exist_ok=True)
        with httpx.Client(timeout=self.timeout_s * 6, auth=_auth()) as client:
            listing = client.get(base, params={"path": remote})
            listing.raise_for_status()
            files = listing.json().get("files", [])
            if not files or any(entry.get("is_dir") for entry in files):
                raise RuntimeError(f"unexpected content at {remote}: {files}")
            for entry in files:
                response = client.get(f"{base}/{remote}/{entry['path']}")
                response.raise_for_status()
                (target / Path(entry["path"]).name).write_bytes(response.content)
        return target

    def _download_with_mlflow(self, root: str, destination: Path) -> Path:
        import mlflow.artifacts

        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root}/{MODEL_SCORING_SUBDIR.as_posix()}",
            tracking_uri=self.tracking_uri,
            dst_path=str(destination),
        )
        return Path(local)
