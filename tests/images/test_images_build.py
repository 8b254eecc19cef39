"""The three images build from the repo's Dockerfiles and carry what their services read at run time:
the OpenMP runtime LightGBM links, params.yaml where PARAMS_PATH says, and in the API image only what
the API imports."""

from __future__ import annotations

import pytest

from tests.images.containers import run_once
from tests.servers import ROOT

pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(1800)]

API_IMAGE_MAX_MB = 470  # measured 460 MB on Debian bookworm's Python; 800 MB with the full MLflow client
LEFT_OUT_OF_THE_API = ("mlflow", "evidently", "scikit-learn", "matplotlib", "streamlit", "pip")


@pytest.mark.parametrize("service", ["api", "app"])
def test_lightgbm_loads_in_the_image(images, service: str) -> None:
    """The slim base has no libgomp: without it LightGBM fails at import and the service never starts."""
    out = run_once(service, "python", "-c", "import lightgbm, ml.scoring; print(lightgbm.__version__)")
    assert out.strip()[:1].isdigit(), out


@pytest.mark.parametrize("service", ["api", "app"])
def test_params_yaml_ships_where_params_path_points(images, service: str) -> None:
    code = "from ml.config import get_settings; print(get_settings().params_path.read_text(), end='')"
    assert run_once(service, "python", "-c", code) == (ROOT / "params.yaml").read_text()


def test_api_image_carries_only_what_the_api_imports(images) -> None:
    code = (
        "from importlib import metadata\n"
        f"for name in {LEFT_OUT_OF_THE_API!r}:\n"
        "    try: print(name, metadata.version(name))\n"
        "    except metadata.PackageNotFoundError: pass\n"
    )
    assert run_once("api", "python", "-c", code) == ""
    assert images["api"] < API_IMAGE_MAX_MB, images
