"""Periodic boundary conditions by elimination (solvers/periodic.py, issue 20): a manufactured
solution that is periodic in x and y on the unit cube, against its closed form, with fitted orders;
the same problem with insulating lateral faces does not converge to it; faces that do not match are
refused, naming a node."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from skfem import Basis, BilinearForm, ElementTetP1, ElementTetP2, Functional, LinearForm, MeshTet
from shapely.geometry import Polygon
from skfem.helpers import dot, grad

from solvers.fem import dirichlet_system
from solvers.periodic import PeriodicError, match_periodic, prolongation, reduced_dirichlet

TRANSLATIONS = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]


def exact(x, y, z):
    """u = sin(2 pi x) sin(pi z) (1 + cos(2 pi y) / 2): periodic in x and y, 0 at z = 0 and 1; its
    normal derivative on x = 0 is not zero, so an insulating face cannot hold it."""
    return np.sin(2 * np.pi * x) * np.sin(np.pi * z) * (1 + 0.5 * np.cos(2 * np.pi * y))


def source(x, y, z):
    """-laplace(u)."""
    s, p = np.sin(2 * np.pi * x), np.sin(np.pi * z)
    return 5 * np.pi ** 2 * exact(x, y, z) + 2 * np.pi ** 2 * s * p * np.cos(2 * np.pi * y)


@BilinearForm
def laplace(u, v, _):
    return dot(grad(u), grad(v))


@LinearForm
def load(v, w):
    return source(*w.x) * v


@Functional
def squared_error(w):
    return (w["u"] - exact(*w.x)) ** 2


def lateral_nodes(points: np.ndarray) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return np.flatnonzero((x < 1e-12) | (x > 1 - 1e-12) | (y < 1e-12) | (y > 1 - 1e-12))


def solve(n: int, order: int, periodic: bool = True) -> float:
    """L2 error on an n^3 cube mesh; Dirichlet u = 0 at z = 0 and 1."""
    g = np.linspace(0.0, 1.0, n + 1)
    mesh = MeshTet.init_tensor(g, g, g)
    basis = Basis(mesh, (ElementTetP1 if order == 1 else ElementTetP2)())
    K, F = laplace.assemble(basis), load.assemble(basis)
    pts = mesh.p.T
    if periodic:
        per = match_periodic(pts, lateral_nodes(pts), TRANSLATIONS, 1e-9)
        Z = prolongation(per, np.arange(len(pts)), len(pts), basis if order == 2 else None)
    else:
        Z = sp.identity(basis.N, format="csr")
    fixed = np.zeros(basis.N, bool)
    fixed[basis.get_dofs(lambda x: (x[2] < 1e-12) | (x[2] > 1 - 1e-12)).all()] = True
    x_r, fixed_r = reduced_dirichlet(Z, np.zeros(basis.N), fixed)
    A, b = dirichlet_system((Z.T @ K @ Z).tocsr(), x_r, fixed_r)
    u = Z @ spla.spsolve(A.tocsc(), b + np.where(fixed_r, 0.0, Z.T @ F))
    return float(squared_error.assemble(basis, u=basis.interpolate(u)) ** 0.5)


@pytest.mark.parametrize("order", [1, 2])
def test_periodic_manufactured_solution_converges_at_the_element_order(order):
    """L2 error against the closed form on 4^3, 8^3, 16^3 cubes (P1) and 4^3, 8^3 (P2): fitted order
    >= 1.85 (P1, 2 expected) and >= 2.9 (P2, 3 expected)."""
    errors = [solve(n, order) for n in ((4, 8, 16) if order == 1 else (4, 8))]
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    print(f"P{order} L2 errors {errors}, orders {rates}")
    assert rates[-1] >= (1.85 if order == 1 else 2.9)
    assert errors[-1] < (0.02 if order == 1 else 3e-3)


def test_insulating_faces_do_not_hold_the_periodic_solution():
    """Without the elimination (insulating lateral faces) the error stays O(1) under refinement."""
    errors = [solve(n, 2, periodic=False) for n in (4, 8)]
    print("insulating faces, P2 L2 errors:", errors)
    assert min(errors) > 0.05 and errors[1] > 0.5 * errors[0]


def test_faces_that_do_not_match_are_refused_naming_a_node():
    g = np.linspace(0.0, 1.0, 5)
    pts = MeshTet.init_tensor(g, g, g).p.T.copy()
    face = lateral_nodes(pts)
    k = face[np.argmax((pts[face, 0] > 1 - 1e-12) & (pts[face, 1] > 0.1) & (pts[face, 1] < 0.9)
                       & (pts[face, 2] > 0.1) & (pts[face, 2] < 0.9))]
    pts[k, 2] += 0.01                                # one node of the face x = 1 moved by 0.01
    with pytest.raises(PeriodicError, match=r"the periodic faces do not match: the node at \("):
        match_periodic(pts, face, TRANSLATIONS, 1e-6)
    per = match_periodic(pts, face, TRANSLATIONS, 0.02)   # within a looser tolerance it matches
    assert per.n_pairs == 2 * 5 * 5


def _unfolded_run(raw: dict):
    """The mirror cell of a case and the periodic cell it unfolds to (geom3d.unfold), both solved by
    the primary model: (mirror record, periodic record, mirror mesh, periodic mesh). The periodic
    cell's extensive geometry (footprint, volumes, areas, feature fractions) is k times the mirror
    cell's, k its footprint over the mirror cell's."""
    import dataclasses  # noqa: PLC0415

    from geom3d.unfold import unfold_mirror_cell  # noqa: PLC0415
    from mb3d.case import load_case  # noqa: PLC0415
    from mb3d.models import Setup, get  # noqa: PLC0415
    from mb3d.pipeline import build, cell_problem  # noqa: PLC0415

    case = load_case(raw)
    built, _ = build(case)
    model = get(case.model.physics.model)
    mirror = Setup(case, built.geometry, built.metrics, built.mesh, built.cell)
    rec_m, _ = model.record(mirror, model.solve(mirror))
    mesh = unfold_mirror_cell(built.mesh, built.geometry.outline_m)
    k = float(np.ptp(mesh.points_m[:, :2], axis=0).prod()) / built.geometry.footprint_area_m2
    gm = built.metrics
    scaled = dataclasses.replace(gm, footprint_area_m2=k * gm.footprint_area_m2,
                                 volume_m3={r: k * v for r, v in gm.volume_m3.items()},
                                 interface_area_m2={r: k * v for r, v in gm.interface_area_m2.items()})
    geo = dataclasses.replace(built.geometry, footprint_area_m2=k * built.geometry.footprint_area_m2,
                              features=tuple(dataclasses.replace(f, fraction=k * f.fraction)
                                             for f in built.geometry.features))
    cell = cell_problem(case, mesh)
    periodic = Setup(case, geo, scaled, mesh, cell)
    rec_p, _ = model.record(periodic, model.solve(periodic))
    return rec_m, rec_p, built.mesh, mesh, built.geometry.outline_m


def _interface_area_m2(mesh, name: str) -> float:
    p, t = mesh.points_m, mesh.boundary_tris[name]
    return float(0.5 * np.linalg.norm(np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]]), axis=1).sum())


CONDUCTING = {"model": "secondary", "current_density": "0.5 mA/cm2", "electrode_conduction": True}


@pytest.mark.parametrize("arch,geo,order,physics", [
    ("interdigitated_pillars", dict(pitch=20, anode_radius=3, cathode_radius=3, height=12), 1, {}),
    ("interdigitated_pillars", dict(pitch=20, anode_radius=3, cathode_radius=3, height=12), 2, {}),
    ("transparent_mesh", dict(pitch=100, line_width=10, offset=[50, 50]), 1, {}),
    ("interdigitated_pillars", dict(pitch=20, anode_radius=3, cathode_radius=3, height=12), 2, CONDUCTING),
], ids=["pillars-P1", "pillars-P2", "transparent-half-offset", "pillars-P2-secondary-conducting"])
def test_the_periodic_cell_equals_the_mirror_cell_it_unfolds_from(arch, geo, order, physics):
    """Where both exist, the periodic cell (the mirror cell reflected across its high faces, its
    outer faces joined by elimination) gives the mirror cell's ASR, current-density statistics and
    mesh interface area gains within 1e-6 (the percentiles within 1 %, see below). The solution is mirror-symmetric, so no current crosses
    the periodic faces here: this checks the unfolding (nothing dropped or doubled, P2 edges paired)
    and that the elimination perturbs nothing; that it joins the faces is checked by the manufactured
    periodic solution above and by the offset grid against its 4 x 4 array
    (tests/test_transparent_mesh.py)."""
    mesh = {"size": 6.0, "interface_size": 2.0, "order": order} if arch != "transparent_mesh" else \
        {"size": 20.0, "interface_size": 4.0, "order": order}
    from conftest import case_dict  # noqa: PLC0415

    raw = case_dict(arch, geo, mesh=mesh)
    if physics:
        raw["physics"] = dict(physics)
        raw["materials"] = {"electrolyte": "LiPON", "anode": "Li", "cathode": "LiCoO2"}
    rec_m, rec_p, m_mesh, p_mesh, outline = _unfolded_run(raw)
    print(f"{arch} P{order}: ASR mirror {rec_m['asr_ohm_cm2']:.9g}, periodic {rec_p['asr_ohm_cm2']:.9g} ohm cm2")
    assert rec_p["asr_ohm_cm2"] == pytest.approx(rec_m["asr_ohm_cm2"], rel=1e-6)
    assert rec_p["asr_gain_vs_planar"] == pytest.approx(rec_m["asr_gain_vs_planar"], rel=1e-6)
    for e in ("anode", "cathode"):
        for stat, value in rec_m["current_density_mA_cm2"][e].items():
            # the percentiles interpolate a midpoint CDF between samples, which is not invariant
            # under repeating every sample (each facet appears k times in the periodic cell)
            rel = 1e-2 if stat.startswith("p") else 1e-6
            assert rec_p["current_density_mA_cm2"][e][stat] == pytest.approx(value, rel=rel, abs=1e-9), (e, stat)
        name = f"{e}_interface"
        gain_m = _interface_area_m2(m_mesh, name) / Polygon(outline).area
        gain_p = _interface_area_m2(p_mesh, name) / np.ptp(p_mesh.points_m[:, :2], axis=0).prod()
        assert gain_p == pytest.approx(gain_m, rel=1e-9)
    assert set(p_mesh.boundary_tris) - {"periodic"} == set(m_mesh.boundary_tris) - {"symmetry"}
