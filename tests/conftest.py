"""Shared helpers: build a case from a dict and run it through the pipeline in memory."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mb3d.case import load_case
from mb3d.pipeline import run_case

SIGMA_LIPON_S_M = 2.3e-4  # library LiPON at 25 degC


def case_dict(architecture: str, geometry: dict | None = None, **blocks: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": f"test-{architecture}", "architecture": architecture,
                           "geometry": geometry or {}}
    for k, v in blocks.items():
        raw[k] = copy.deepcopy(v)
    return raw


def run(raw: dict[str, Any]):
    """Run a raw case dict; return the RunResult."""
    return run_case(load_case(raw))


@pytest.fixture
def run_raw():
    return run


ROOT = Path(__file__).parent.parent


def cli(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``mb3d ARGS`` as a user would (a fresh interpreter); capture its output."""
    return subprocess.run([sys.executable, "-m", "mb3d.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT)


def run_grid_case(out: Path) -> subprocess.CompletedProcess:
    """`mb3d run` on the offset transparent grid case with a coarse mesh (a quick run with every report
    section, the transparency map included)."""
    return cli("run", ROOT / "cases" / "transparent_mesh_offset.yaml", "--out", out, "--quiet",
               "--set", "mesh.size=5", "--set", "mesh.interface_size=1.5")
