"""Create (or update) the MLflow users the console and the API sign in with, least privilege each.

Run with the MLflow admin's credentials, once per deploy; running it again changes nothing but the
passwords, which it sets to the current secrets (so rotating one is: change the secret, rerun).

- the console's user may only read: READ on the training and monitoring experiments and on the
  registered model (writes answer 403);
- the API's user may manage the registered model (aliases, tags: promotion and rollback), write
  drift-check runs to the monitoring experiment, and read the training experiment; nothing else.

It speaks MLflow's auth REST API (`/api/2.0/mlflow/users/*`, `/api/3.0/mlflow/users/permissions/grant`)
with plain HTTP, so it stays small enough to run beside the tracking server on a 512 MB instance.

Environment: MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (the admin),
MLFLOW_CONSOLE_USERNAME (default credit-scoring-console) / MLFLOW_CONSOLE_PASSWORD,
MLFLOW_API_USERNAME (default credit-scoring-api) / MLFLOW_API_PASSWORD, MODEL_NAME,
EXPERIMENT_NAME, MONITORING_EXPERIMENT_NAME. `--wait S` first waits up to S seconds for the server.
Exit codes: 0 done, 2 a setting is missing or invalid, 3 MLflow refused or could not be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import requests

MIN_PASSWORD = 12  # MLflow's own rule for user passwords
TIMEOUT_S = 15


class ProvisionError(RuntimeError):
    """MLflow refused a call; the message says which and why (never a password)."""


@dataclass(frozen=True)
class Grant:
    resource_type: str  # experiment | registered_model
    resource: str  # an experiment name, or a registered model name
    permission: str  # READ | EDIT | MANAGE


@dataclass(frozen=True)
class ServiceUser:
    username: str
    password: str
    grants: tuple[Grant, ...]


class MlflowAuthAdmin:
    def __init__(self, tracking_uri: str, username: str, password: str) -> None:
        self.base = tracking_uri.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (username, password)

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=TIMEOUT_S, **kwargs)
        if response.status_code not in ok:
            raise ProvisionError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        return response

    def ensure_user(self, username: str, password: str) -> str:
        """Create the user, or reset its password to `password`; never an admin. Returns what was done."""
        found = self._call("GET", "/api/2.0/mlflow/users/get", ok=(200, 404), params={"username": username})
        if found.status_code == 404:
            self._call(
                "POST", "/api/2.0/mlflow/users/create", json={"username": username, "password": password}
            )
            return "created"
        body = {"username": username, "password": password}
        self._call("PATCH", "/api/2.0/mlflow/users/update-password", json=body)
        if found.json()["user"].get("is_admin"):
            self._call(
                "PATCH", "/api/2.0/mlflow/users/update-admin", json={"username": username, "is_admin": False}
            )
        return "updated"

    def experiment_id(self, name: str) -> str:
        """The experiment's id, creating it (as the admin) when it does not exist yet."""
        path = "/api/2.0/mlflow/experiments/get-by-name"
        found = self._call("GET", path, ok=(200, 404), params={"experiment_name": name})
        if found.status_code == 200:
            return found.json()["experiment"]["experiment_id"]
        return self._call("POST", "/api/2.0/mlflow/experiments/create", json={"name": name}).json()[
            "experiment_id"
        ]

    def grant(self, username: str, grant: Grant) -> None:
        resource_id = (
            self.experiment_id(grant.resource) if grant.resource_type == "experiment" else grant.resource
        )
        body = {
            "username": username,
            "resource_type": grant.resource_type,
            "resource_id": resource_id,
            "permission": grant.permission,
        }
        path = "/api/3.0/mlflow/users/permissions/grant"
        granted = self._call("POST", path, ok=(200, 400), json=body)
        if granted.status_code == 400:
            if "RESOURCE_ALREADY_EXISTS" not in granted.text:
                raise ProvisionError(f"POST {path}: HTTP 400 {granted.text[:300]}")
            # Granted by an earlier run, maybe at another level: replace it with this one.
            where = {key: body[key] for key in ("username", "resource_type", "resource_id")}
            self._call("POST", "/api/3.0/mlflow/users/permissions/revoke", json=where)
            self._call("POST", path, json=body)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if requests.get(self.base + "/health", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise ProvisionError(f"MLflow at {self.base} not ready after {timeout_s:.0f} s")
            time.sleep(2)


def service_users(env: dict[str, str]) -> list[ServiceUser]:
    model = env.get("MODEL_NAME", "credit-scoring")
    training = env.get("EXPERIMENT_NAME", "credit-scoring")
    monitoring = env.get("MONITORING_EXPERIMENT_NAME", "credit-scoring-monitoring")
    console = ServiceUser(
        env.get("MLFLOW_CONSOLE_USERNAME", "credit-scoring-console"),
        env.get("MLFLOW_CONSOLE_PASSWORD", ""),
        (
            Grant("experiment", training, "READ"),
            Grant("experiment", monitoring, "READ"),
            Grant("registered_model", model, "READ"),
        ),
    )
    api = ServiceUser(
        env.get("MLFLOW_API_USERNAME", "credit-scoring-api"),
        env.get("MLFLOW_API_PASSWORD", ""),
        (
            Grant("experiment", training, "READ"),
            Grant("experiment", monitoring, "EDIT"),
            Grant("registered_model", model, "MANAGE"),
        ),
    )
    return [console, api]


def provision(admin: MlflowAuthAdmin, users: list[ServiceUser]) -> list[str]:
    done = []
    for user in users:
        done.append(f"user {user.username}: {admin.ensure_user(user.username, user.password)}")
        for grant in user.grants:
            admin.grant(user.username, grant)
            done.append(f"  {grant.permission} on {grant.resource_type} {grant.resource!r}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to wait for the server first")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    admin_user, admin_password = env.get("MLFLOW_TRACKING_USERNAME"), env.get("MLFLOW_TRACKING_PASSWORD")
    uri = env.get("MLFLOW_TRACKING_URI", "")
    users = service_users(env)
    problems = [
        f"{name} is not set"
        for name, value in (
            ("MLFLOW_TRACKING_URI", uri),
            ("MLFLOW_TRACKING_USERNAME", admin_user),
            ("MLFLOW_TRACKING_PASSWORD", admin_password),
        )
        if not value
    ]
    problems += [
        f"the password of {user.username} must have at least {MIN_PASSWORD} characters"
        for user in users
        if len(user.password) < MIN_PASSWORD
    ]
    if not uri.startswith(("http://", "https://")):
        problems.append("MLFLOW_TRACKING_URI must be the tracking server's http(s) URL")
    if problems:
        print("mlflow_users: " + "; ".join(problems), file=sys.stderr)
        return 2
    admin = MlflowAuthAdmin(uri, admin_user, admin_password)  # type: ignore[arg-type]
    try:
        if args.wait:
            admin.wait_ready(args.wait)
        for line in provision(admin, users):
            print(line)
    except (ProvisionError, requests.RequestException) as exc:
        print(f"mlflow_users: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
