"""Physics models and architectures as registered plug-ins; the discretised cell problem is built once;
a passive film's material mapping keeps its overrides."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SIGMA_LIPON_S_M, case_dict

from geom3d import registry
from mb3d import models
from mb3d.case import CaseError, load_case
from mb3d.cli import main
from mb3d.pipeline import MESH_CACHE, run_case


def test_entry_points_declare_the_builtins():
    """pyproject.toml declares exactly the built-in tables (which serve an uninstalled source tree)."""
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert eps["mb3d.models"] == models.BUILTIN
    assert eps["mb3d.architectures"] == registry.BUILTIN
    assert models.names()[:2] == ["primary", "secondary"]
    assert [registry.get(n).name for n in registry.BUILTIN] == list(registry.BUILTIN)


def test_names_agree_with_the_geometry_side():
    from geom3d import model as gm  # noqa: PLC0415
    from solvers import names  # noqa: PLC0415

    assert gm.ELECTRODES == names.ELECTRODES
    assert gm.collector_boundaries(["anode_collector", "anode_interface"], ["electrolyte", "anode"], "anode") \
        == ["anode_collector"]


def _uniform_model():
    """The README's toy model: a uniform current at a fixed voltage over the planar-equivalent
    electrolyte, j = sigma V / t (t = electrolyte volume / footprint)."""
    from typing import Literal  # noqa: PLC0415

    from mb3d.case import Voltage  # noqa: PLC0415
    from mb3d.models import Model, PhysicsBase  # noqa: PLC0415

    class UniformSpec(PhysicsBase):
        model: Literal["uniform"] = "uniform"
        voltage: Voltage = 0.1

    def solve(setup):
        t = setup.metrics.volume_m3["electrolyte"] / setup.footprint_m2
        return setup.sigma_S_m * setup.physics.voltage / t          # A/m2

    def record(setup, j):
        return {"model": "uniform", "current_density_mA_cm2": j / 10, "asr_ohm_cm2": setup.physics.voltage / j * 1e4}, None

    return Model("uniform", UniformSpec, solve, record, summary="uniform current (toy)")


def test_a_model_is_one_registration():
    models.unregister("uniform")       # the README's example may have registered its own
    model = models.register(_uniform_model())
    try:
        with pytest.raises(ValueError, match="exists"):
            models.register(_uniform_model())
        with pytest.raises(ValueError, match="exists"):
            models.register(models.Model("primary", model.spec, model.solve, model.record))
        case = load_case(case_dict("planar", {"electrolyte_thickness": 2.0}, physics={"model": "uniform"},
                                   mesh={"size": 4.0}))
        r = run_case(case)
        s = r.record["solution"]
        assert s["asr_ohm_cm2"] == pytest.approx(2e-6 / SIGMA_LIPON_S_M * 1e4, rel=1e-9)   # t / sigma
        assert r.record["case"]["physics"] == {"model": "uniform", "temperature": 25.0, "voltage": 0.1}
        assert not np.any(r.fields.potential_V) and len(r.fields.interface_j_A_m2) == len(r.fields.interface_tris)
        with pytest.raises(CaseError, match=r"physics.current_density = 1.0: only used by the secondary model"):
            load_case(case_dict("planar", physics={"model": "uniform", "current_density": 1}))
    finally:
        models.unregister("uniform")
    with pytest.raises(CaseError, match=r"physics.model = 'uniform': unknown; known: primary, secondary"):
        load_case(case_dict("planar", physics={"model": "uniform"}))


def test_a_periodic_cell_is_refused_by_a_model_that_cannot_join_its_faces():
    """A plug-in model that does not declare ``periodic`` (like the uniform model above) refuses a
    periodic cell before meshing, naming the models that solve it and how to make the cell not
    periodic; mb3d's own three models all join periodic faces."""
    models.unregister("uniform")
    models.register(_uniform_model())
    try:
        raw = case_dict("transparent_mesh", {"pitch": 100, "line_width": 10, "offset": [30, 10]},
                        physics={"model": "uniform"})
        with pytest.raises(CaseError, match=r"^physics.model = uniform: does not solve periodic cells yet, and this "
                                            r"transparent_mesh unit cell is periodic; use physics.model: primary or "
                                            r"secondary or transient, or domain: array$"):
            load_case(raw)
        sponge = case_dict("sponge", {}, physics={"model": "uniform"})
        with pytest.raises(CaseError, match=r"or geometry.lateral: insulating$"):
            load_case(sponge)
        load_case(case_dict("sponge", {"lateral": "insulating"}, physics={"model": "uniform"}))
    finally:
        models.unregister("uniform")
    assert all(models.get(m).periodic for m in ("primary", "secondary", "transient"))


def test_the_cell_problem_is_built_once_per_mesh():
    """A second case on the same mesh reuses the cached cell problem and what the first model built of
    it (the electrolyte basis, interface facet bases and trace operators): the same objects."""
    MESH_CACHE.clear()
    geo = {"electrolyte_thickness": 2.0}
    first = run_case(load_case(case_dict("planar", geo, physics={"model": "secondary"}, mesh={"size": 2.0})))
    built = next(iter(MESH_CACHE.values()))
    kept = dict(built.cell._built)
    assert {"basis", ("facet_basis", "anode"), ("trace", "cathode")} <= set(kept)
    second = run_case(load_case(case_dict("planar", geo, physics={"model": "secondary", "current_density": 0.2},
                                          mesh={"size": 2.0})))
    assert second.record["mesh"]["from_cache"] and not first.record["mesh"]["from_cache"]
    assert second.record["timing_s"]["cell_problem"] == 0.0
    assert all(built.cell._built[k] is v for k, v in kept.items())


TRENCH = ROOT / "cases" / "trenched_silicon_secondary.yaml"
QUICK = ["--set", "mesh.size=4", "--set", "mesh.interface_size=1", "--set", "mesh.order=1", "--set",
         "geometry.depth=10"]


def _film(tmp_path: Path, tag: str, barrier: object) -> float:
    """``mb3d run`` of the trench case with its barrier's material replaced; the anode's film resistance."""
    import yaml  # noqa: PLC0415

    raw = yaml.safe_load(TRENCH.read_text())
    raw.pop("expected")
    raw["geometry"]["layers"][0]["material"] = barrier
    path = tmp_path / f"{tag}.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / tag
    assert main(["run", str(path), "--out", str(out), "--quiet", "--no-images", *QUICK]) == 0
    return json.loads((out / "results.json").read_text())["solution"]["film_resistance_ohm_cm2"]["anode"]


def test_a_layer_material_mapping_keeps_its_overrides(tmp_path):
    """The collapsed TiN barrier under the Si anode: overriding its conductivity (1e4 S/cm in the library)
    with 1 S/cm adds exactly t (1/s' - 1/s) = 50 nm x (1/1 - 1/1e4) cm/S to the anode's film
    resistance; a new {name: ...} material works too."""
    base = _film(tmp_path, "library", "TiN")
    over = _film(tmp_path, "override", {"base": "TiN", "electronic_conductivity": "1 S/cm"})
    new = _film(tmp_path, "new", {"name": "MyBarrier", "electronic_conductivity": "1 S/cm"})
    t_cm = 50e-7
    assert over - base == pytest.approx(t_cm * (1 / 1.0 - 1 / 1e4), rel=1e-9)
    assert new == pytest.approx(over, rel=1e-12)
