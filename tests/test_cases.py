"""Every case in cases/ runs and its `expected:` block holds."""
from pathlib import Path

import pytest

from mb3d.case import load_case_file, read_yaml
from mb3d.pipeline import lookup, run_case

CASES = sorted((Path(__file__).parent.parent / "cases").glob("*.yaml"))


def test_there_are_cases():
    assert len(CASES) >= 3


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_expected(path):
    raw = read_yaml(path)
    assert raw.get("expected"), f"{path.name} has no expected: block"
    case = load_case_file(path)
    record = run_case(case).record
    for key, exp in case.model.expected.items():
        got = lookup(record, key)
        tol = max(exp.abs or 0.0, (exp.rel or 0.0) * abs(exp.value))
        assert abs(got - exp.value) <= tol, f"{path.name}: {key} = {got}, expected {exp.value} +/- {tol}"
