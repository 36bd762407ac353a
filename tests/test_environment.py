"""environment.yml (conda users) lists exactly what pyproject.toml lists."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def normalise(spec: str) -> tuple[str, str, str, str]:
    req = Requirement(spec)
    return (req.name.lower().replace("_", "-"), ",".join(sorted(str(s) for s in req.specifier)),
            ",".join(sorted(req.extras)), str(req.marker or ""))


def pyproject_requirements() -> set:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return {normalise(s) for s in specs}


def environment_requirements() -> set:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {normalise(s) for s in pip}


def test_environment_yml_mirrors_pyproject():
    only_pyproject = pyproject_requirements() - environment_requirements()
    only_env = environment_requirements() - pyproject_requirements()
    assert not only_pyproject, f"in pyproject.toml but not environment.yml: {sorted(only_pyproject)}"
    assert not only_env, f"in environment.yml but not pyproject.toml: {sorted(only_env)}"


def test_python_version_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"python{project['requires-python']}" in env["dependencies"]


def test_normalise_sees_differences():
    assert normalise("pandas>=3") != normalise("pandas>=2")
    assert normalise("uvicorn[standard]>=0.29") != normalise("uvicorn>=0.29")
    assert normalise("Kafka_Python>=3") == normalise("kafka-python>=3")
