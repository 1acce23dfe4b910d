"""Shared helpers: build a case from a dict and run it through the pipeline in memory."""
from __future__ import annotations

import copy
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
