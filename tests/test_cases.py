"""Every case in cases/ runs and its `expected:` block holds."""
from pathlib import Path

import pytest

from mb3d.case import load_case, load_case_file, read_yaml
from mb3d.pipeline import lookup, run_case

CASES = sorted((Path(__file__).parent.parent / "cases").glob("*.yaml"))


def test_every_architecture_has_a_case():
    """Each registered architecture has at least one committed case (an example, a doc and a test)."""
    from geom3d import registry  # noqa: PLC0415

    assert {read_yaml(p)["architecture"] for p in CASES} == set(registry.ARCHITECTURES)


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


def other_model(raw: dict) -> dict:
    """The same case with the other physics model and its defaults (secondary: 0.1 mA/cm2,
    Butler-Volmer with the library's kinetics)."""
    out = {k: v for k, v in raw.items() if k != "expected"}
    ph = dict(out.get("physics") or {})
    model = ph.get("model", "primary")
    keep = {"temperature": ph["temperature"]} if "temperature" in ph else {}
    out["physics"] = {"model": "secondary" if model == "primary" else "primary", **keep}
    return out


UNIT_CELLS = [p for p in CASES if read_yaml(p).get("domain", "unit_cell") == "unit_cell"]


@pytest.mark.parametrize("path", UNIT_CELLS, ids=[p.stem for p in UNIT_CELLS])
def test_case_runs_with_the_other_model(path):
    """Every unit-cell case also runs with the other model (same geometry and mesh, from the mesh
    cache when test_case_expected ran first); a secondary run converges and its losses add up. Array
    cases are left out: their solve is the unit cell's code on a larger mesh, and the secondary model
    on the transparent-mesh array alone took 48 s of the suite's 20 minutes."""
    raw = other_model(read_yaml(path))
    record = run_case(load_case(raw)).record
    s = record["solution"]
    assert s["current_A"] > 0 and s["asr_ohm_cm2"] > 0
    assert s["anode_current_A"] == pytest.approx(s["current_A"], rel=1e-6)
    if s["model"] == "secondary":
        assert 0 < s["cell_voltage_V"] < s["ocv_V"]
        assert s["overpotential_balance_relative_error"] < 1e-6
        assert s["newton"]["relative_residual"] <= 1e-9
        assert all(v >= 0 for v in s["overpotential_V"].values())
