"""The graded lattice (geom3d/graded.py): Kuhn boxes refined by Maubach bisection. Refined everywhere
it is the uniform lattice of the finest boxes; graded towards a surface it stays conforming (every
face shared by at most two tetrahedra, the boundary exactly the box), keeps its volume and its
shapes, is fine where asked and coarse elsewhere; periodic, its opposite faces are translates of
each other; in the sponge it gives the uniform lattice's interfaces with half the tetrahedra."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import case_dict, run
from geom3d.graded import coarse_axis, graded_lattice, lattice_quality
from geom3d.levelset import faces, quality, signed_volumes, triangle_areas
from solvers.periodic import PeriodicError, check_face_meshes, match_periodic

AXES = [coarse_axis(0, 1, 0.5), coarse_axis(0, 1, 0.5), coarse_axis(0, 2, 0.5)]
SURFACE = 2 * (1 * 1 + 1 * 2 + 1 * 2)


def sphere(x: np.ndarray) -> np.ndarray:
    return np.abs(np.linalg.norm(x - [0.1, 0.5, 1.0], axis=1) - 0.3)


def conforming(P: np.ndarray, T: np.ndarray) -> None:
    v = signed_volumes(P, T)
    tris, _, count = faces(T)
    assert v.min() > 0 and v.sum() == pytest.approx(2.0, rel=1e-12)
    assert count.max() == 2                                         # no face of three tetrahedra
    assert triangle_areas(P, tris[count == 1]).sum() == pytest.approx(SURFACE, rel=1e-12)   # no hanging face


def lateral(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    tris, _, count = faces(T)
    b = tris[count == 1]
    c = P[b].mean(axis=1)
    return b[(c[:, 0] < 1e-9) | (c[:, 0] > 1 - 1e-9) | (c[:, 1] < 1e-9) | (c[:, 1] > 1 - 1e-9)]


def test_refined_everywhere_it_is_the_uniform_kuhn_lattice():
    P, T = graded_lattice(AXES, 2, lambda x: np.zeros(len(x)))
    assert len(T) == 2 * 2 * 4 * 6 * 8 ** 2
    v = signed_volumes(P, T)
    assert np.ptp(v) < 1e-15 and v[0] == pytest.approx(0.125 ** 3 / 6, rel=1e-12)
    conforming(P, T)
    assert quality(P, T).min() == pytest.approx(lattice_quality(AXES, quality), rel=1e-12)


@pytest.mark.parametrize("periodic", [False, True])
def test_graded_towards_a_sphere_is_conforming_fine_near_it_and_coarse_away(periodic):
    P, T = graded_lattice(AXES, 4, sphere, grade=1.0, periodic=periodic)
    conforming(P, T)
    assert quality(P, T).min() >= lattice_quality(AXES, quality) * (1 - 1e-12)
    uniform = 2 * 2 * 4 * 6 * 8 ** 4
    print(f"graded: {len(T)} tetrahedra, uniform: {uniform}")
    assert len(T) < uniform / 4
    side = np.cbrt(6 * signed_volumes(P, T))                        # the box side of a Kuhn tetrahedron
    crossing = np.ptp(np.sign(np.linalg.norm(P[T] - [0.1, 0.5, 1.0], axis=2) - 0.3), axis=1) > 0
    assert side[crossing].max() <= 0.5 / 16 * (1 + 1e-9)            # the finest boxes where the sphere passes
    assert side.max() > 8 * 0.5 / 16                                 # and far coarser ones away from it


def test_periodic_grading_makes_opposite_faces_translates():
    """The closure treats a node on x = 0 and its image on x = 1 as one: the lateral face meshes
    match under the translations; without periodic they do not (the sphere crosses x = 0 only)."""
    P, T = graded_lattice(AXES, 4, sphere, grade=1.0, periodic=True)
    face = lateral(P, T)
    per = match_periodic(P, np.unique(face), [(1, 0, 0), (0, 1, 0)], 1e-9)
    check_face_meshes(per, P, face)
    P, T = graded_lattice(AXES, 4, sphere, grade=1.0, periodic=False)
    with pytest.raises(PeriodicError):
        match_periodic(P, np.unique(lateral(P, T)), [(1, 0, 0), (0, 1, 0)], 1e-9)


def test_the_graded_sponge_has_the_uniform_lattice_interfaces_with_fewer_tetrahedra():
    """A gyroid of one 10 um cell with a 0.4 um film at interface_size 0.2 um: graded (mesh.size 2 um)
    against uniform (mesh.size 0.2 um), the area gains within 0.5 % (measured 0.25 %) and the ASR
    within 1 %, with under 60 % of the tetrahedra; the committed bench/bench_sponge.py times both on
    the 23 um tall block."""
    geo = {"kind": "gyroid", "cell_size": 10, "width": 10, "electrolyte_thickness": 0.4, "web_height": 10,
           "height": 11.5}
    out = {}
    for size in (2.0, 0.2):
        rec = run(case_dict("sponge", geo, mesh={"size": size, "interface_size": 0.2})).record
        out[size] = rec
    g, u = out[2.0], out[0.2]
    for e in ("anode", "cathode"):
        assert g["geometry"]["area_gain"][e] == pytest.approx(u["geometry"]["area_gain"][e], rel=0.005)
    assert g["solution"]["asr_ohm_cm2"] == pytest.approx(u["solution"]["asr_ohm_cm2"], rel=0.01)
    print("tetrahedra graded / uniform:", g["mesh"]["n_tetrahedra"], u["mesh"]["n_tetrahedra"])
    assert g["mesh"]["n_tetrahedra"] < 0.6 * u["mesh"]["n_tetrahedra"]
