"""What the registry says about one model version: the one shape the CLI, the API (`GET /models`) and
the console read. Kept apart from `ml.registry` so the API can name it without loading MLflow's client."""

from __future__ import annotations

from pydantic import BaseModel, computed_field


class VersionInfo(BaseModel):
    version: str
    aliases: list[str]
    run_id: str | None
    created: str
    status: str
    metrics: dict[str, float]
    tags: dict[str, str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def archived(self) -> bool:
        return self.tags.get("archived") == "true"
