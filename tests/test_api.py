"""The Python API (mb3d.load, mb3d.run, Result, mb3d.Study): input errors, frozen cases, results equal
to the pipeline's, outputs equal to to_dict, PyVista blocks named like the VTU files, study tables."""
import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

import mb3d
from mb3d.case import CaseError, load_case, read_yaml
from mb3d.outputs import _clean
from mb3d.pipeline import MESH_CACHE, run_case

ROOT = Path(__file__).parent.parent
PLANAR = ROOT / "cases" / "planar_lipon.yaml"
QUICK = {"mesh.size": 2, "mesh.interface_size": 2}     # a few hundred tetrahedra, about 0.1 s
VOLATILE = ("timing_s", "mesh.from_cache")


def without_volatile(record: dict) -> dict:
    out = json.loads(json.dumps(record))
    out.pop("timing_s")
    out["mesh"].pop("from_cache")
    return out


@pytest.fixture(scope="module")
def result():
    MESH_CACHE.clear()
    return mb3d.run(mb3d.load(PLANAR, **QUICK))


def test_import_mb3d_is_light_and_exports_the_api():
    code = ("import sys, mb3d; heavy = [m for m in ('gmsh', 'skfem', 'pandas', 'pyvista', 'pydantic') "
            "if m in sys.modules]; assert not heavy, heavy; "
            "assert {'load', 'run', 'Result', 'Study', 'Case', 'CaseError'} <= set(mb3d.__all__) <= set(dir(mb3d)); "
            "mb3d.Study; mb3d.Result; assert 'gmsh' not in sys.modules; "
            "from mb3d import load, run, Case, CaseError; import mb3d.api as api; assert mb3d.load is api.load")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        mb3d.nothing  # noqa: B018


def test_load_a_path_a_dict_a_case_and_overrides():
    a = mb3d.load(PLANAR)
    assert isinstance(a, mb3d.Case) and a.name == "planar-lipon"
    assert mb3d.load(str(PLANAR)).hash() == a.hash()
    assert mb3d.load(read_yaml(PLANAR)).hash() == a.hash()
    b = mb3d.load(PLANAR, **{"geometry.electrolyte_thickness": "2 um", "mesh.size": 2})
    assert b.normalized()["geometry"]["electrolyte_thickness"] == 2.0
    assert b.model.mesh.size == 2.0
    raw = read_yaml(PLANAR)
    c = mb3d.load(raw, **{"geometry.electrolyte_thickness": 2.0, "mesh.size": 2})
    assert c.hash() == b.hash()
    assert raw["geometry"]["electrolyte_thickness"] == 1.0     # the caller's mapping is not changed
    assert mb3d.load(a, **{"mesh.size": 2}).model.mesh.size == 2.0
    d = mb3d.load(PLANAR, **{"physics.model": "secondary", "physics.voltage": None})
    assert d.model.physics.current_density == 0.1


@pytest.mark.parametrize("source, overrides, key", [
    (PLANAR, {"geometry.pitch": 40}, "geometry.pitch"),                       # no such key in planar
    (PLANAR, {"mesh.size": "2 um 3"}, "mesh.size"),                          # not a quantity
    (PLANAR, {"geometry.electrolyte_thickness": -1}, "electrolyte_thickness"),
    (PLANAR, {"physics.voltage": "1 mA/cm2"}, "physics.voltage"),             # wrong dimension
    (PLANAR, {"physics.model": "secondary"}, "physics.voltage"),               # the other model's key
    (PLANAR, {"materials.electrolyte": "Unobtainium"}, "materials.electrolyte"),
    (PLANAR, {"mesh..size": 2}, "mesh..size"),
    (ROOT / "cases" / "no_such_case.yaml", {}, "no_such_case.yaml"),
    (42, {}, "int"),
])
def test_bad_input_is_one_line_naming_the_key(source, overrides, key):
    with pytest.raises(CaseError) as info:
        mb3d.load(source, **overrides)
    message = str(info.value)
    assert key in message and "\n" not in message


def test_with_returns_a_new_validated_case_and_cases_are_frozen():
    case = mb3d.load(PLANAR)
    other = case.with_(**{"geometry.electrolyte_thickness": 3, "physics.voltage": "50 mV"})
    assert other is not case and other.hash() != case.hash()
    assert other.normalized()["geometry"]["electrolyte_thickness"] == 3.0
    assert other.model.physics.voltage == 0.05
    assert case.normalized()["geometry"]["electrolyte_thickness"] == 1.0     # unchanged
    assert case.model.physics.voltage == 0.1
    with pytest.raises(CaseError, match="geometry.electrolyte_thickness"):
        case.with_(**{"geometry.electrolyte_thickness": 0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        case.model = other.model
    with pytest.raises(TypeError):
        case.materials["anode"] = case.materials["cathode"]
    with pytest.raises(Exception, match="frozen"):     # pydantic's ValidationError
        case.model.mesh.size = 5.0


# The study tests come before the first run in this process: until gmsh has run here, the cases of
# a study are forked (milliseconds) rather than started from a fork server (a few seconds once).
def test_study_runs_resumes_and_gives_a_dataframe(tmp_path):
    base = read_yaml(PLANAR)
    base.pop("expected")
    base["mesh"] = {"size": 2, "interface_size": 2}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"name": "thin", "base": base,
                                    "factors": {"geometry.electrolyte_thickness": {"levels": [1.0, "2 um"]}}}))
    study = mb3d.Study(path, out=tmp_path / "out")
    assert len(study) == 2 and study.factors == ["geometry.electrolyte_thickness"] and "thin" in repr(study)
    before = study.to_dataframe()
    assert list(before["status"]) == ["pending", "pending"] and not (tmp_path / "out").exists()
    rows = []
    assert study.run(workers=2, progress=lambda row, done, total: rows.append((done, total))) is study
    assert study.counts == {"total": 2, "skipped": 0, "ok": 2, "failed": 0, "mesh_cache_hits": 0}
    assert sorted(rows) == [(1, 2), (2, 2)]
    assert (tmp_path / "out" / "summary.html").is_file()
    df = study.to_dataframe()
    assert list(df.index) == [0, 1] and list(df["status"]) == ["ok", "ok"]
    assert list(df.columns[:3]) == ["case_hash", "status", "geometry.electrolyte_thickness"]
    assert list(df.columns[-2:]) == ["error", "seconds"]
    assert list(df["geometry.electrolyte_thickness"]) == [1.0, "2 um"]
    assert df["solution.asr_ohm_cm2"].tolist() == pytest.approx([43.47826087, 86.95652174], rel=1e-6)
    assert df["error"].isna().all() and (df["seconds"] > 0).all()
    assert {"geometry.capacity_uAh_cm2", "mesh.n_tetrahedra"} <= set(df.columns)
    assert list(df["case_hash"]) == [p.case_hash for p in study.points]
    assert study.run(workers=1).counts["skipped"] == 2           # resumed: nothing runs again
    assert study.to_dataframe()["solution.asr_ohm_cm2"].tolist() == df["solution.asr_ohm_cm2"].tolist()


def test_study_records_a_failed_case_as_a_row(tmp_path):
    base = read_yaml(PLANAR)
    base.pop("expected")
    base["mesh"] = {"size": 2, "interface_size": 2}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "base": base,
                                    "factors": {"geometry.electrolyte_thickness": {"levels": [1.0, -1.0]}}}))
    study = mb3d.Study(path).run(out=tmp_path / "out", workers=1, summary=False)
    assert study.counts["ok"] == 1 and study.counts["failed"] == 1
    df = study.to_dataframe()
    assert list(df["status"]) == ["ok", "failed"]
    assert "electrolyte_thickness" in df.loc[1, "error"]
    assert df["solution.asr_ohm_cm2"].isna().tolist() == [False, True]
    assert not (tmp_path / "out" / "summary.html").exists()
    with pytest.raises(CaseError, match="factors.geometry.nope"):
        path.write_text(yaml.safe_dump({"name": "bad", "base": base,
                                        "factors": {"geometry.nope": {"levels": [1.0]}}}))
        mb3d.Study(path)


def test_run_equals_the_pipeline_and_to_dict_is_plain_json(result):
    case = result.case
    MESH_CACHE.clear()                         # mesh again: gmsh on one thread gives the same mesh
    direct = run_case(load_case(case.raw))
    assert without_volatile(result.to_dict()) == without_volatile(_clean(direct.record))
    d = result.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d is not result.to_dict()           # a fresh copy each time
    assert d["solution"]["asr_ohm_cm2"] == pytest.approx(43.47826087, rel=1e-6)
    assert result.record["solution"]["asr_ohm_cm2"] == d["solution"]["asr_ohm_cm2"]
    assert result.mesh is result.run_result.mesh and result.fields is result.run_result.fields
    text = repr(result)
    for part in ("planar-lipon", "planar", "primary", "asr_ohm_cm2=43.4783", "capacity_uAh_cm2=70.7"):
        assert part in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.case = case


def test_run_takes_a_path_reports_stages_and_runs_one_case_at_a_time():
    stages = []
    r = mb3d.run(str(PLANAR), progress=stages.append)
    assert stages == ["geometry", "mesh", "transparency", "solve", "metrics"]
    assert r.case.name == "planar-lipon"
    # two threads at once: gmsh holds one model per process, so the runs must take turns
    MESH_CACHE.clear()
    cases = [mb3d.load(PLANAR, **QUICK, **{"geometry.width": w}) for w in (8, 12)]
    out, errors = {}, []

    def work(c):
        try:
            out[c.name + str(c.normalized()["geometry"]["width"])] = mb3d.run(c)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(out) == 2
    for r in out.values():
        assert r.record["solution"]["asr_ohm_cm2"] == pytest.approx(43.47826087, rel=1e-6)


def test_save_writes_the_outputs_of_mb3d_run(result, tmp_path):
    out = result.save(tmp_path / "run", images=False)
    assert out == tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["interfaces.vtu", "regions", "report.html", "results.json",
                                                     "solution.vtm", "solution.vtu"]
    assert json.loads((out / "results.json").read_text()) == result.to_dict()
    assert "planar-lipon" in (out / "report.html").read_text()
    result.save(out, images=False)                     # again into the same folder: replaced
    assert not list(tmp_path.glob(".mb3d-partial-*"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(CaseError, match="not a folder"):
        result.save(tmp_path / "file")
    with pytest.raises(CaseError, match="is a file"):
        result.save(tmp_path / "file" / "below")


def test_to_pyvista_blocks_and_names_match_the_vtu_files(result, tmp_path):
    import numpy as np
    import pyvista as pv

    mb = result.to_pyvista()
    rec = result.record
    assert isinstance(mb, pv.MultiBlock)
    assert list(mb.keys()) == [*rec["mesh"]["region_ids"], "interfaces"] == ["cathode", "electrolyte", "anode",
                                                                             "interfaces"]
    assert mb["electrolyte"].n_cells == rec["mesh"]["n_tetrahedra_electrolyte"]
    assert sum(mb[n].n_cells for n in rec["mesh"]["region_ids"]) == rec["mesh"]["n_tetrahedra"]
    out = result.save(tmp_path / "run", images=False)
    sol, ifc = pv.read(out / "solution.vtu"), pv.read(out / "interfaces.vtu")
    for name, k in rec["mesh"]["region_ids"].items():
        block = mb[name]
        assert set(block.point_data) == {"potential_V"} == set(sol.point_data)
        assert set(block.cell_data) == {"region_id", "current_density_mA_cm2"} == set(sol.cell_data)
        assert (block.cell_data["region_id"] == k).all()
    assert set(mb["interfaces"].cell_data) == set(ifc.cell_data) == {"normal_current_density_mA_cm2",
                                                                     "electrode_id", "feature_id"}
    assert mb["interfaces"].n_cells == ifc.n_cells
    # coordinates in um, values as in the files: planar stack 10 um wide, potential 0..0.1 V
    assert np.allclose(mb["electrolyte"].bounds, [0, 10, 0, 10, 1, 2])
    assert np.allclose(mb["anode"].point_data["potential_V"], 0.1)
    e = mb["electrolyte"]
    assert e.point_data["potential_V"].min() == pytest.approx(0.0, abs=1e-12)
    j = e.cell_data["current_density_mA_cm2"]        # uniform, along z: V / (t / sigma) in mA/cm2
    assert np.allclose(j[:, 2], -0.1 / 43.47826087 * 1e3, rtol=1e-6)
    jn = mb["interfaces"].cell_data["normal_current_density_mA_cm2"]
    assert np.allclose(np.sort(jn), np.sort(ifc.cell_data["normal_current_density_mA_cm2"]))
