"""Interdigitated pillars: exact areas and volumes, linearity, the 2D cross-section check, arrays."""
import math

import gmsh
import numpy as np
import pytest
from skfem import Basis, ElementTriP2, MeshTri

from conftest import SIGMA_LIPON_S_M, case_dict, run
from solvers.fem import laplace

FRACTIONS = {"square": {"anode": 1 / 8, "cathode": 1 / 8},
             "triangular": {"anode": 1 / 6, "cathode": 1 / 12}}


def footprint(lattice, p):
    return p * p / 4 if lattice == "square" else math.sqrt(3) * p * p / 8


@pytest.mark.parametrize("lattice,shape,geo", [
    ("square", "circle", dict(pitch=40, anode_radius=10, cathode_radius=7, height=30, electrolyte_height=36)),
    ("square", "circle", dict(pitch=25, anode_radius=6, cathode_radius=11, height=50, electrolyte_height=50)),
    ("square", "square", dict(pitch=30, anode_radius=6, cathode_radius=9, height=20, electrolyte_height=25)),
    ("triangular", "circle", dict(pitch=40, anode_radius=10, cathode_radius=15, height=30, electrolyte_height=40)),
    ("triangular", "circle", dict(pitch=20, anode_radius=4, cathode_radius=9, height=60, electrolyte_height=60)),
])
def test_areas_and_volumes_closed_form(lattice, shape, geo):
    r = run(case_dict("interdigitated_pillars", dict(geo, lattice=lattice, shape=shape),
                      mesh={"size": 6.0, "interface_size": 3.0}))
    g = r.record["geometry"]
    p, h, he = geo["pitch"], geo["height"], geo["electrolyte_height"]
    fp = footprint(lattice, p)
    assert g["footprint_area_um2"] == pytest.approx(fp, rel=1e-9)
    vol_e = fp * he
    for e in ("anode", "cathode"):
        rad, f = geo[f"{e}_radius"], FRACTIONS[lattice][e]
        if shape == "circle":
            side, top, base = 2 * math.pi * rad * h, math.pi * rad ** 2, math.pi * rad ** 2
        else:
            side, top, base = 8 * rad * h, 4 * rad ** 2, 4 * rad ** 2
        area = f * (side + (top if he > h else 0.0))
        assert g["interface_area_um2"][e] == pytest.approx(area, rel=1e-3)
        assert g["volume_um3"][e] == pytest.approx(f * base * h, rel=1e-3)
        assert g["area_gain"][e] == pytest.approx(area / fp, rel=1e-3)
        vol_e -= f * base * h
    assert g["volume_um3"]["electrolyte"] == pytest.approx(vol_e, rel=1e-3)
    assert r.record["solution"]["singular_edges"] == (he > h or shape == "square")


def test_linear_in_voltage():
    geo = dict(pitch=40, anode_radius=10, cathode_radius=10, height=20, electrolyte_height=25)
    out = []
    for v in ("0.1 V", "0.37 V", "-5 mV"):
        r = run(case_dict("interdigitated_pillars", geo, physics={"voltage": v},
                          mesh={"size": 4.0, "interface_size": 1.5}))
        out.append(r.record["solution"])
    for s in out[1:]:
        assert s["asr_ohm_cm2"] == pytest.approx(out[0]["asr_ohm_cm2"], rel=1e-9)
        assert s["current_density_mA_cm2"]["cathode"]["cov"] == pytest.approx(
            out[0]["current_density_mA_cm2"]["cathode"]["cov"], rel=1e-9)


def cross_section_current_per_length(lattice, p, ra, rc, h=0.25):
    """Current per unit length (A/m) of the 2D mirror cell, V = 1, by an independent 2D solve."""
    if lattice == "square":
        poly = [(0, 0), (p, 0), (p / 2, p / 2)]
        anode, cathode = (0.0, 0.0), (p, 0.0)
    else:
        poly = [(0, 0), (p, 0), (0.75 * p, math.sqrt(3) / 4 * p)]
        cathode, anode = (0.0, 0.0), (p, 0.0)
    gmsh.initialize(readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        occ = gmsh.model.occ
        pts = [occ.addPoint(x, y, 0) for x, y in poly]
        loop = occ.addCurveLoop([occ.addLine(pts[i], pts[(i + 1) % 3]) for i in range(3)])
        tri = occ.addPlaneSurface([loop])
        disks = [(2, occ.addDisk(*anode, 0, ra, ra)), (2, occ.addDisk(*cathode, 0, rc, rc))]
        occ.cut([(2, tri)], disks)
        occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.option.setNumber("Mesh.MeshSizeMin", h / 2)
        gmsh.model.mesh.generate(2)
        tags, xyz, _ = gmsh.model.mesh.getNodes()
        idx = np.zeros(int(tags.max()) + 1, dtype=int)
        idx[tags.astype(int)] = np.arange(len(tags))
        _, en = gmsh.model.mesh.getElementsByType(2)
        m = MeshTri(xyz.reshape(-1, 3)[:, :2].T * 1e-6, idx[en.astype(int)].reshape(-1, 3).T)
    finally:
        gmsh.finalize()

    def on_circle(c, r):
        return lambda x: np.abs(np.hypot(x[0] - c[0] * 1e-6, x[1] - c[1] * 1e-6) - r * 1e-6) < 0.02 * r * 1e-6

    fa = m.facets_satisfying(on_circle(anode, ra), boundaries_only=True)
    fc = m.facets_satisfying(on_circle(cathode, rc), boundaries_only=True)
    basis = Basis(m, ElementTriP2())
    K = laplace.assemble(basis, sigma=SIGMA_LIPON_S_M).tocsr()
    da, dc = basis.get_dofs(facets=fa).all(), basis.get_dofs(facets=fc).all()
    x = np.zeros(basis.N)
    x[da] = 1.0
    free = np.setdiff1d(np.arange(basis.N), np.concatenate([da, dc]))
    from scipy.sparse.linalg import spsolve
    x[free] = spsolve(K[free][:, free].tocsc(), -(K[free] @ x))
    return float(-(K @ x)[dc].sum())


@pytest.mark.parametrize("lattice,ra,rc", [("square", 10, 8), ("triangular", 9, 12)])
def test_asr_equals_cross_section_times_height(lattice, ra, rc):
    p, h = 40.0, 20.0
    i2d = cross_section_current_per_length(lattice, p, ra, rc)
    asr_2d = 1.0 * footprint(lattice, p) * 1e-8 / (i2d * h * 1e-6)  # ohm cm2 (um2 -> cm2: 1e-8)
    r = run(case_dict("interdigitated_pillars",
                      dict(lattice=lattice, pitch=p, anode_radius=ra, cathode_radius=rc, height=h),
                      mesh={"size": 3.0, "interface_size": 1.0, "order": 2}))
    asr = r.record["solution"]["asr_ohm_cm2"]
    print(f"{lattice}: 3D ASR {asr:.4f}, 2D x height {asr_2d:.4f} ohm cm2 ({asr / asr_2d - 1:+.2e})")
    assert asr == pytest.approx(asr_2d, rel=0.01)


@pytest.mark.slow
def test_array_center_matches_unit_cell():
    geo = dict(lattice="square", pitch=40, anode_radius=10, cathode_radius=10, height=5)
    mesh = {"size": 3.0, "interface_size": 1.0}
    cell = run(case_dict("interdigitated_pillars", geo, mesh=mesh)).record["solution"]
    arr = run(case_dict("interdigitated_pillars", geo, mesh=mesh, domain="array",
                        array={"nx": 6, "ny": 6})).record["solution"]
    pillars = arr["pillar_current_A"]
    assert len(pillars) == 36
    central = [pillars[j * 6 + i] for j in (2, 3) for i in (2, 3)]
    for pc in central:
        ref = cell["current_per_feature_A"][pc["electrode"]]
        assert pc["current_A"] == pytest.approx(ref, rel=0.02)
    # anode and cathode pillars carry the same total current
    tot = {e: sum(p["current_A"] for p in pillars if p["electrode"] == e) for e in ("anode", "cathode")}
    assert tot["anode"] == pytest.approx(tot["cathode"], rel=1e-6)
    assert tot["cathode"] == pytest.approx(arr["current_A"], rel=1e-9)
    print(f"edge over interior current: {arr['edge_over_interior_current']}")
    assert 0.5 < arr["edge_over_interior_current"]["anode"] < 1.0
