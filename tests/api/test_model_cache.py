"""The disk cache never hands out another registry's model of the same name and version."""

from pathlib import Path

from api.mlflow_source import ModelRef
from api.model_cache import ModelCache


def stage(cache: ModelCache, ref: ModelRef, content: str) -> Path:
    staging = cache.staging_dir(ref.name)
    (staging / "booster.txt").write_text(content)
    return cache.store(ref, staging)


def test_same_version_of_another_run_is_not_a_cache_hit(tmp_path: Path):
    cache = ModelCache(tmp_path)
    first = ModelRef("credit-scoring", "1", "run-a")
    stage(cache, first, "model of run a")
    cache.remember(first, "champion")
    recreated = ModelRef("credit-scoring", "1", "run-b")  # e.g. mlflow.db deleted and retrained
    assert cache.has(first) and not cache.has(recreated)
    stage(cache, recreated, "model of run b")
    assert (cache.version_dir(recreated) / "booster.txt").read_text() == "model of run b"
    assert (cache.version_dir(first) / "booster.txt").read_text() == "model of run a"
    ref, directory = cache.last("credit-scoring", "champion")
    assert ref == first and (directory / "booster.txt").read_text() == "model of run a"


def test_old_versions_are_pruned_but_not_the_one_in_use(tmp_path: Path):
    cache = ModelCache(tmp_path)
    refs = [ModelRef("m", str(v), f"run-{v}") for v in range(1, 6)]
    for ref in refs:
        stage(cache, ref, ref.run_id)
    cache.remember(refs[0], "champion")
    kept = {ref.version for ref in refs if cache.has(ref)}
    assert "1" in kept and len(kept) <= 4
