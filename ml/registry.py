"""The model registry: versions, aliases, the promotion quality gate, rollback and alias history.

Serving follows aliases (`champion`, `challenger`). Every alias move is recorded as a registered
model tag `history.<time>` (who / when / why / from / to), so the history lives in MLflow's own
database and survives restarts. A refused or failed promotion leaves the registry as it was.
"""

from __future__ import annotations

import getpass
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ml.config import GateParams
from ml.fairness import gate_failures, gate_summary, load_run_fairness
from ml.model_versions import VersionInfo

CHAMPION = "champion"
CHALLENGER = "challenger"
ALIASES = (CHAMPION, CHALLENGER)
GATE_METRIC = "test_roc_auc"
HISTORY_PREFIX = "history."
KEY_METRICS = ("test_roc_auc", "test_pr_auc", "test_ks", "test_business_cost", "threshold")


class RegistryError(RuntimeError):
    """A registry action could not be done; nothing was changed."""


class GateRefusedError(RegistryError):
    """The quality gate refused a promotion to champion; `verdict` says why."""

    def __init__(self, verdict: GateVerdict) -> None:
        super().__init__("; ".join(verdict.reasons))
        self.verdict = verdict


@dataclass
class GateVerdict:
    passed: bool
    candidate_auc: float | None
    champion_version: str | None = None
    champion_auc: float | None = None
    reasons: list[str] = field(default_factory=list)
    who: str | None = None  # who asked for the promotion this verdict answered
    fairness: list[dict[str, Any]] = field(default_factory=list)  # per attribute: the gated figures
    criteria: dict[str, Any] = field(default_factory=dict)  # the gate's settings at the time
    live: dict[str, Any] | None = None  # the live criteria's verdict and figures (ml/live_gate.py), if on


@dataclass
class AliasEvent:
    """One alias move, as stored in the history tags."""

    action: str  # promote | rollback | archive | clear | refused (on live evidence)
    alias: str
    version: str | None
    previous: str | None
    who: str
    when: str
    why: str
    forced: bool = False
    live: dict[str, Any] | None = None  # the live gate's figures and verdict this move was judged on


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Registry:
    """Registry actions for one registered model, through MLflow's client."""

    def __init__(
        self, name: str, tracking_uri: str, gate: GateParams | None = None, database_url: str | None = None
    ) -> None:
        self.name = name
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self.gate = gate or GateParams()
        self.database_url = database_url  # the decision log the live criteria read

    # reading -----------------------------------------------------------------------------------------

    def version_for(self, alias: str) -> str | None:
        try:
            return self.client.get_model_version_by_alias(self.name, alias).version
        except MlflowException:
            return None

    def _version(self, version: str) -> ModelVersion:
        try:
            return self.client.get_model_version(self.name, str(version))
        except MlflowException as exc:
            raise RegistryError(f"model {self.name!r} has no version {version}") from exc

    def _metrics(self, run_id: str | None) -> dict[str, float]:
        if not run_id:
            return {}
        try:
            return dict(self.client.get_run(run_id).data.metrics)
        except MlflowException:
            return {}

    def describe(self, version: ModelVersion, aliases: dict[str, str]) -> VersionInfo:
        metrics = self._metrics(version.run_id)
        return VersionInfo(
            version=str(version.version),
            aliases=sorted(alias for alias, v in aliases.items() if str(v) == str(version.version)),
            run_id=version.run_id,
            created=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(
                timespec="seconds"
            ),
            status=version.status,
            metrics={k: metrics[k] for k in KEY_METRICS if k in metrics},
            tags=dict(version.tags),
        )

    def aliases(self) -> dict[str, str]:
        try:
            return {alias: str(v) for alias, v in self.client.get_registered_model(self.name).aliases.items()}
        except MlflowException:
            return {}

    def list_versions(self) -> list[VersionInfo]:
        """Every version, newest first, with its aliases and key metrics."""
        aliases = self.aliases()
        versions = self.client.search_model_versions(f"name='{self.name}'")
        infos = [self.describe(v, aliases) for v in versions]
        return sorted(infos, key=lambda info: int(info.version), reverse=True)

    def history(self) -> list[AliasEvent]:
        """All alias moves, oldest first."""
        try:
            tags = self.client.get_registered_model(self.name).tags
        except MlflowException:
            return []
        keys = sorted(key for key in tags if key.startswith(HISTORY_PREFIX))
        return [AliasEvent(**json.loads(tags[key])) for key in keys]

    # writing -----------------------------------------------------------------------------------------

    def register(self, model_uri: str, run_id: str, tags: dict[str, str] | None = None) -> str:
        """Register a logged model as a new version; return its number."""
        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            self.client.create_registered_model(self.name, description="Credit default scoring (LightGBM).")
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
        created = self.client.create_model_version(
            self.name, model_uri, run_id=run_id, tags=tags or {}, model_id=model_id
        )
        self._wait_ready(created.version)
        return str(created.version)

    def _wait_ready(self, version: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.client.get_model_version(self.name, version).status == "READY":
                return
            time.sleep(0.2)
        raise RegistryError(f"version {version} did not become READY within {timeout_s:.0f} s")

    def check_gate(self, version: str) -> GateVerdict:
        """Would `version` be allowed to become champion?"""
        candidate_auc = self._metrics(self._version(version).run_id).get(GATE_METRIC)
        champion = self.version_for(CHAMPION)
        champion_auc = None
        if champion and champion != str(version):
            champion_auc = self._metrics(self._version(champion).run_id).get(GATE_METRIC)
        reasons = []
        if candidate_auc is None:
            reasons.append(f"version {version} has no {GATE_METRIC} metric")
        else:
            if candidate_auc < self.gate.min_auc:
                reasons.append(f"AUC {candidate_auc:.4f} is below the minimum {self.gate.min_auc:.4f}")
            if champion_auc is not None and candidate_auc < champion_auc - self.gate.max_auc_drop:
                reasons.append(
                    f"AUC {candidate_auc:.4f} is worse than champion v{champion} ({champion_auc:.4f}) "
                    f"by more than {self.gate.max_auc_drop:.4f}"
                )
        results = (
            load_run_fairness(self.client, self._version(version).run_id)
            if self.gate.fairness.enabled
            else []
        )
        reasons.extend(gate_failures(results or [], self.gate.fairness))
        live = None
        if self.gate.live.enabled and champion and champion != str(version):
            from ml.live_gate import live_verdict

            live = live_verdict(self.database_url, self.name, champion, str(version), self.gate.live)
            reasons.extend(live["failures"])
        return GateVerdict(
            not reasons,
            candidate_auc,
            champion,
            champion_auc,
            reasons,
            fairness=gate_summary(results),
            criteria=self.gate.model_dump(),
            live=live,
        )

    def promote(
        self,
        version: str,
        alias: str = CHAMPION,
        reason: str = "",
        who: str | None = None,
        force: bool = False,
    ) -> tuple[AliasEvent, GateVerdict | None]:
        """Point `alias` at `version` after the gate (for champion); record who / when / why."""
        version = str(version)
        if alias not in ALIASES:
            raise RegistryError(f"unknown alias {alias!r}; use one of {', '.join(ALIASES)}")
        info = self._version(version)
        if info.tags.get("archived") == "true":
            raise RegistryError(f"version {version} is archived; it cannot be promoted")
        if force and not reason.strip():
            raise RegistryError("--force needs a reason")
        who = who or current_user()
        verdict = self.check_gate(version) if alias == CHAMPION else None
        if verdict:
            verdict.who = who
        previous = self.version_for(alias)
        if verdict and not verdict.passed and not force:
            if verdict.live is not None:
                # Judged on a moving window of the log: the evidence is kept with the refusal.
                self._record(
                    AliasEvent("refused", alias, version, previous, who, _now(), reason, live=verdict.live)
                )
            raise GateRefusedError(verdict)
        if previous == version:
            raise RegistryError(f"version {version} is already {alias}")
        live = verdict.live if verdict else None
        event = AliasEvent("promote", alias, version, previous, who, _now(), reason, force, live)
        self._move_alias(alias, version, previous, event)
        if alias == CHAMPION and self.version_for(CHALLENGER) == version:
            # The challenger won: it stops shadowing (a champion cannot shadow itself).
            self.clear_challenger(f"promoted to champion: {reason}", who=who)
        return event, verdict

    def rollback(self, reason: str = "", who: str | None = None) -> AliasEvent:
        """Put the previous champion back (the champions form a stack: promotions push, rollbacks pop)."""
        current = self.version_for(CHAMPION)
        if current is None:
            raise RegistryError("there is no champion to roll back")
        target = self.rollback_target()
        if target is None:
            raise RegistryError(f"champion v{current} has no previous champion to roll back to")
        self._version(target)
        event = AliasEvent("rollback", CHAMPION, target, current, who or current_user(), _now(), reason)
        self._move_alias(CHAMPION, target, current, event)
        return event

    def clear_challenger(self, reason: str = "", who: str | None = None) -> AliasEvent:
        """Take the challenger alias off its version (the candidate was judged and dropped)."""
        current = self.version_for(CHALLENGER)
        if current is None:
            raise RegistryError("there is no challenger to clear")
        event = AliasEvent("clear", CHALLENGER, current, current, who or current_user(), _now(), reason)
        self.client.delete_registered_model_alias(self.name, CHALLENGER)
        self._record(event)
        return event

    def rollback_target(self) -> str | None:
        """The version a rollback would make champion again (None when there is none)."""
        stack: list[str] = []
        for event in self.history():
            if event.alias != CHAMPION:
                continue
            if event.action == "promote" and event.previous:
                stack.append(event.previous)
            elif event.action == "rollback" and stack:
                stack.pop()
        return stack[-1] if stack else None

    def archive(self, version: str, reason: str = "", who: str | None = None) -> AliasEvent:
        """Retire a version: it loses its aliases (never the champion's) and cannot be promoted."""
        version = str(version)
        self._version(version)
        aliases = self.aliases()
        if aliases.get(CHAMPION) == version:
            raise RegistryError(f"version {version} is the champion; promote or roll back another one first")
        event = AliasEvent("archive", "", version, None, who or current_user(), _now(), reason)
        for alias, target in aliases.items():
            if target == version:
                self.client.delete_registered_model_alias(self.name, alias)
        self.client.set_model_version_tag(self.name, version, "archived", "true")
        self._record(event)
        return event

    def _move_alias(self, alias: str, version: str, previous: str | None, event: AliasEvent) -> None:
        """Move the alias and record it; on any failure put the alias back where it was."""
        try:
            self.client.set_registered_model_alias(self.name, alias, version)
            self.client.set_model_version_tag(self.name, version, f"{alias}_since", event.when)
            self.client.set_model_version_tag(self.name, version, f"{alias}_by", event.who)
            self.client.set_model_version_tag(self.name, version, f"{alias}_reason", event.why[:4000])
            self._record(event)
        except Exception:
            if previous:
                self.client.set_registered_model_alias(self.name, alias, previous)
            else:
                self.client.delete_registered_model_alias(self.name, alias)
            raise

    def _record(self, event: AliasEvent) -> None:
        key = f"{HISTORY_PREFIX}{time.time_ns():020d}"
        self.client.set_registered_model_tag(self.name, key, json.dumps(asdict(event)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def as_dict(obj: Any) -> dict[str, Any]:
    """Plain-dict view of the registry's records (for JSON output)."""
    if isinstance(obj, VersionInfo):
        return obj.model_dump()
    return asdict(obj)
