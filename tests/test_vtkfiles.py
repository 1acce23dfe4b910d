"""The VTK files of a run as ParaView reads them (mb3d.vtkfiles): named regions in solution.vtm, P2
solutions as quadratic tetrahedra with one point per P2 degree of freedom and the solver's own values
at the edge midpoints, coordinates in um said in the files, a study's .pvd and readable case folders,
and unit cells repeated to a few periods for pictures."""
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import skfem
import vtk
import yaml
from shapely.geometry import Polygon

import mb3d
from geom3d import MeshData
from mb3d.models.base import Fields, p2_midpoints
from mb3d.vtkfiles import QUADRATIC_EDGES, mesh_edges, volume_grid, write_volume

ROOT = Path(__file__).parent.parent
PILLARS = ROOT / "cases" / "interdigitated_pillars_square.yaml"
COARSE = {"mesh.size": 6.0, "mesh.interface_size": 3.0}


def _field_data(data) -> dict[str, list]:
    fd = data.GetFieldData()
    out = {}
    for k in range(fd.GetNumberOfArrays()):
        a = fd.GetAbstractArray(k)
        out[a.GetName()] = [a.GetValue(j) for j in range(a.GetNumberOfValues())]
    return out


def _read_vtu(path: Path):
    r = vtk.vtkXMLUnstructuredGridReader()
    r.SetFileName(str(path))
    r.Update()
    return r.GetOutput()


def _blocks(path: Path) -> dict[str, object]:
    """Leaf datasets of a .vtm by block name, read with VTK's multiblock reader."""
    r = vtk.vtkXMLMultiBlockDataReader()
    r.SetFileName(str(path))
    r.Update()
    it = r.GetOutput().NewIterator()
    it.InitTraversal()
    out = {}
    while not it.IsDoneWithTraversal():
        out[it.GetCurrentMetaData().Get(vtk.vtkCompositeDataSet.NAME())] = it.GetCurrentDataObject()
        it.GoToNextItem()
    return out


def _meshdata(m: skfem.MeshTet, region: np.ndarray) -> MeshData:
    return MeshData(points_m=m.p.T.copy(), tets=m.t.T.copy(), tet_region=region, region_names=("a", "b"),
                    boundary_tris=MappingProxyType({}), boundary_feature=MappingProxyType({}), min_quality=1.0)


def test_quadratic_cells_carry_a_p2_field_of_a_sub_region_exactly(tmp_path):
    """A P2 field living on a sub-mesh (region ``b``, nodes numbered in the sub-mesh) written through
    p2_midpoints and volume_grid: every written point of region b, vertex or edge midpoint, carries the
    field's exact value (a quadratic is represented exactly; the mean of an edge's ends would miss by
    h^2/4), and VTK reads quadratic tetrahedra whose midpoint nodes lie at the edge midpoints."""
    m = skfem.MeshTet().refined(2)
    centre = m.p[:, m.t].mean(axis=1)
    region = (centre[0] > 0.5).astype(np.int64)             # region b: x > 1/2
    sub = np.flatnonzero(region == 1)
    nodes, local = np.unique(m.t[:, sub], return_inverse=True)
    subm = skfem.MeshTet(m.p[:, nodes], local.reshape(4, -1))
    basis = skfem.Basis(subm, skfem.ElementTetP2())

    def exact(x):
        return x[0] ** 2 + x[1] * x[2] - 0.5 * x[2] ** 2

    u = basis.project(exact)
    pot = np.zeros(m.p.shape[1])
    pot[nodes] = u[basis.nodal_dofs[0]]
    fields = Fields(pot, np.zeros((m.t.shape[1], 3)), np.zeros((0, 3), int), np.zeros(0), np.zeros(0), np.zeros(0),
                    midpoint_data=p2_midpoints("potential_V", basis, nodes, u))
    grid = volume_grid(_meshdata(m, region), fields)
    assert grid.quadratic and grid.cells.shape == (m.t.shape[1], 10)
    edges, _ = mesh_edges(m.t.T, m.p.shape[1])
    assert len(grid.points_um) == m.p.shape[1] + len(edges) == skfem.Basis(m, skfem.ElementTetP2()).N
    in_b = np.unique(grid.cells[sub])
    x_m = grid.points_um[in_b].T * 1e-6
    np.testing.assert_allclose(grid.point_data["potential_V"][in_b], exact(x_m), atol=1e-12)
    # the check has teeth: the mean of the ends is wrong by up to h^2/4 at the midpoints
    mids = in_b[in_b >= m.p.shape[1]] - m.p.shape[1]
    a, b = m.p[:, edges[mids, 0]], m.p[:, edges[mids, 1]]
    assert np.abs(0.5 * (exact(a) + exact(b)) - exact(0.5 * (a + b))).max() > 1e-3

    write_volume(tmp_path / "q.vtu", grid)
    data = _read_vtu(tmp_path / "q.vtu")
    assert data.GetNumberOfPoints() == len(grid.points_um)
    assert {data.GetCellType(k) for k in range(data.GetNumberOfCells())} == {vtk.VTK_QUADRATIC_TETRA}
    pts = np.array([data.GetPoint(k) for k in range(data.GetNumberOfPoints())])
    ids = np.array([[data.GetCell(0).GetPointId(j) for j in range(10)]])[0]
    for k, (a, b) in enumerate(QUADRATIC_EDGES):     # VTK's point 4 + k is the midpoint of edge (a, b)
        np.testing.assert_allclose(pts[ids[4 + k]], 0.5 * (pts[ids[a]] + pts[ids[b]]), atol=1e-12)
    assert _field_data(data) == {"region_a": [0], "region_b": [1], "coordinate_unit_m": [1e-6]}


@pytest.fixture(scope="module")
def p2_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("p2") / "run"
    res = mb3d.run(mb3d.load(PILLARS, **COARSE))
    res.save(out, images=False)
    return res, out


def test_p2_run_has_a_point_per_p2_dof_and_named_regions(p2_run):
    res, out = p2_run
    rec = res.record
    assert rec["mesh"]["element_order"] == 2
    mesh = res.mesh
    full = skfem.Basis(skfem.MeshTet(mesh.points_m.T, mesh.tets.T), skfem.ElementTetP2())
    sol = _read_vtu(out / "solution.vtu")
    assert sol.GetNumberOfPoints() == full.N
    assert sol.GetNumberOfCells() == rec["mesh"]["n_tetrahedra"]
    assert sol.GetCellType(0) == vtk.VTK_QUADRATIC_TETRA
    fd = _field_data(sol)
    assert fd.pop("coordinate_unit_m") == [1e-6]
    assert fd == {f"region_{n}": [k] for n, k in rec["mesh"]["region_ids"].items()}
    blocks = _blocks(out / "solution.vtm")
    assert list(blocks) == [*rec["mesh"]["region_ids"], "interfaces"]
    for name, k in rec["mesh"]["region_ids"].items():
        ids = blocks[name].GetCellData().GetArray("region_id")
        assert {int(ids.GetValue(j)) for j in range(ids.GetNumberOfTuples())} == {k}
    assert sum(blocks[n].GetNumberOfCells() for n in rec["mesh"]["region_ids"]) == rec["mesh"]["n_tetrahedra"]
    assert blocks["interfaces"].GetNumberOfCells() == len(res.fields.interface_tris)
    assert _field_data(blocks["interfaces"]) == {"coordinate_unit_m": [1e-6]}
    # the solver's P2 values at electrolyte edge midpoints, not the mean of the ends
    pot = np.array([sol.GetPointData().GetArray("potential_V").GetValue(j) for j in range(sol.GetNumberOfPoints())])
    edges, _ = mesh_edges(mesh.tets, len(mesh.points_m))
    mean = 0.5 * (pot[edges[:, 0]] + pot[edges[:, 1]])
    assert np.abs(pot[len(mesh.points_m):] - mean).max() > 1e-6 * np.ptp(pot)
    mb = res.to_pyvista()                  # the Python API's blocks are the same quadratic cells
    for name in rec["mesh"]["region_ids"]:
        assert set(np.asarray(mb[name].celltypes)) == {vtk.VTK_QUADRATIC_TETRA}
        assert mb[name].n_points == blocks[name].GetNumberOfPoints()


def test_p1_run_is_written_with_linear_cells(tmp_path):
    res = mb3d.run(mb3d.load(PILLARS, **COARSE, **{"mesh.order": 1}))
    out = res.save(tmp_path / "p1", images=False)
    sol = _read_vtu(out / "solution.vtu")
    assert sol.GetNumberOfPoints() == res.record["mesh"]["n_nodes"]
    assert sol.GetCellType(0) == vtk.VTK_TETRA


def test_study_collection_and_case_folders(tmp_path):
    study = {"name": "two", "base": str(ROOT / "cases" / "planar_lipon.yaml"),
             "factors": {"geometry.electrolyte_thickness": {"levels": [1.0, 2.5]}},
             "design": {"kind": "full_factorial"}, "responses": ["solution.asr_ohm_cm2"]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    out = tmp_path / "s"
    r = subprocess.run([sys.executable, "-m", "mb3d", "doe", str(path), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "cases").iterdir()) == ["0000-electrolyte_thickness1",
                                                                 "0001-electrolyte_thickness2.5"]
    assert not (out / "cases" / "0000-electrolyte_thickness1" / "report.html").exists()   # no --images
    import pyvista as pv

    reader = pv.get_reader(out / "study.pvd")
    assert reader.time_values == [0.0, 1.0]
    import xml.etree.ElementTree as ET

    sets = ET.parse(out / "study.pvd").getroot().findall("./Collection/DataSet")
    assert [float(d.get("geometry_electrolyte_thickness")) for d in sets] == [1.0, 2.5]
    for d in sets:
        rec = (out / d.get("file")).parent / "results.json"
        assert rec.is_file() and d.get("case_hash") in rec.read_text()
    reader.set_active_time_value(1.0)
    case = reader.read()[0]                      # the case's solution.vtm, its blocks by name
    assert case["regions"].keys() == ["cathode", "electrolyte", "anode"]      # planar: bottom up
    # with --images, each case also gets its report with pictures
    study["factors"]["geometry.electrolyte_thickness"]["levels"] = [1.5]
    path.write_text(yaml.safe_dump(study))
    r = subprocess.run([sys.executable, "-m", "mb3d", "doe", str(path), "--out", str(out), "--quiet", "--images"],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    page = (out / "cases" / "0000-electrolyte_thickness1.5" / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 3
    assert len(ET.parse(out / "study.pvd").getroot().findall("./Collection/DataSet")) == 1   # this study's


def test_unit_cell_pictures_repeat_the_cell(p2_run):
    """The square pillar mirror cell (a wedge, 1/16 of the 2 pitch x 2 pitch periodic cell of
    alternating anode and cathode pillars) unfolded and tiled 3 x 3: 144 times the wedge's volume and
    interface area, region by region, on 6 pitch x 6 pitch; 2 x 2 periodic cells when 3 x 3 would pass
    MAX_TILED_CELLS."""
    from mb3d import views
    from mb3d.report import tile_for_picture

    res, _ = p2_run
    mesh = res.mesh
    vol, ifc = views.grids_from_arrays(mesh.points_m * 1e6, mesh.tets, mesh.tet_region, res.fields.potential_V,
                                       res.fields.interface_tris, res.fields.interface_j_A_m2)
    tv, ti = tile_for_picture(res.run_result, vol, ifc)
    pitch = res.record["case"]["geometry"]["pitch"]
    lo, hi = np.array(tv.bounds).reshape(3, 2).T
    # anode and cathode pillars alternate: the periodic cell is 2 pitch x 2 pitch, 3 x 3 of them
    np.testing.assert_allclose((hi - lo)[:2], [6 * pitch, 6 * pitch], rtol=1e-9)
    wedge_um2 = Polygon(res.run_result.geometry.outline_m).area * 1e12
    copies = 9 * (2 * pitch) ** 2 / wedge_um2
    assert copies == pytest.approx(9 * 16)                  # the wedge is 1/16 of the periodic cell
    assert tv.volume == pytest.approx(copies * vol.volume, rel=1e-9)
    assert ti.area == pytest.approx(copies * ifc.area, rel=1e-9)
    region = np.asarray(tv.cell_data["region_id"])
    for k in np.unique(np.asarray(vol.cell_data["region_id"])):
        assert tv.extract_cells(np.flatnonzero(region == k)).volume == pytest.approx(
            copies * vol.extract_cells(np.flatnonzero(np.asarray(vol.cell_data["region_id"]) == k)).volume, rel=1e-9)
    views_max = views.MAX_TILED_CELLS
    try:
        views.MAX_TILED_CELLS = 5 * 16 * vol.n_cells         # room for 2 x 2 periodic cells, not 3 x 3
        tv2, _ = tile_for_picture(res.run_result, vol, ifc)
        assert tv2.volume == pytest.approx(4 * 16 * vol.volume, rel=1e-9)
    finally:
        views.MAX_TILED_CELLS = views_max
