"""The wheel, installed into a fresh virtual environment outside the repository, is a working mb3d:
it builds without a warning from the project's packaging, ``mb3d examples`` copies the example cases
shipped inside it and ``mb3d run`` runs one of the copies (pictures included). It installs every
dependency (about 90 s with pip's cache warm) and needs the package index, so it is a step of CI of
its own (``make check-wheel``) rather than a part of ``make test``."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
pytestmark = pytest.mark.packaging     # not in make test: `make check-wheel` (CI runs it)


def run(cmd, cwd, timeout=900):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")})
    assert r.returncode == 0, f"{cmd}: {r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r


def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    wheels = tmp_path / "wheels"
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels, ROOT], cwd=tmp_path)
    noise = [line for line in (built.stdout + built.stderr).splitlines() if "warning" in line.lower()
             and "pip" not in line.lower()]        # pip's own notices (a newer pip) are not ours
    assert not noise, noise
    (wheel,) = wheels.glob("mb3d-*.whl")
    env = tmp_path / "env"
    run([sys.executable, "-m", "venv", env], cwd=tmp_path)
    run([env / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    where = run([env / "bin" / "python", "-c", "import mb3d; print(mb3d.__file__)"], cwd=work).stdout.strip()
    assert Path(where).is_relative_to(env) and not Path(where).is_relative_to(ROOT)
    run([env / "bin" / "mb3d", "examples", "ex"], cwd=work)
    assert (work / "ex" / "planar_lipon.yaml").is_file() and len(list((work / "ex").glob("*.yaml"))) >= 30
    r = run([env / "bin" / "mb3d", "run", "ex/planar_lipon.yaml", "--out", "o"], cwd=work)
    assert r.stdout.strip().splitlines()[-1] == "report: o/report.html"
    assert {"results.json", "solution.vtm", "report.html"} <= {p.name for p in (work / "o").iterdir()}
    assert 'src="data:image/png;base64,' in (work / "o" / "report.html").read_text()
