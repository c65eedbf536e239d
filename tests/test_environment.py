"""The conda route (environment.yml) installs what pyproject.toml declares, with the same floors."""

import re

import tomllib
import yaml

from lpts_helpers.core.paths import REPO_ROOT

CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)(.*)$", requirement.strip()).groups()
    return CONDA_NAMES.get(name.lower(), name.lower()), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = dict(split(r) for r in project["dependencies"])
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not d.startswith(("python=", "pip"))]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    listed = dict(split(r) for r in conda + [p for p in pip if not p.startswith("-e")])
    assert listed == declared
    assert "-e .[dev]" in pip  # the project itself, so the two routes install the same package
    python = next(d for d in env if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11" and project["requires-python"] == ">=3.10"


def test_vllm_is_only_an_optional_gpu_extra():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert not any(r.startswith("vllm") for r in project["dependencies"])
    assert any(r.startswith("vllm") for r in project["optional-dependencies"]["gpu"])
    assert any(r.startswith("jupyter-book") and "<2" in r for r in project["dependencies"])
