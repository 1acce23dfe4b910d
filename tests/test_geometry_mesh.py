"""Geometry and mesh plumbing: tags, hand-over, reproducibility, facet matching, sessions."""
import numpy as np
import pytest

from geom3d import Domain, GeometryError, exact_metrics, gmsh_session, mesh_geometry, registry
from solvers.fem import find_facets, submesh


def build(arch="interdigitated_pillars", domain=Domain(), **kw):
    a = registry.get(arch)
    with gmsh_session():
        geo = a.build(a.params(**kw), domain)
        gm = exact_metrics(geo)
        mesh = mesh_geometry(geo, 4e-6, 1.5e-6)
    return geo, gm, mesh


def test_every_element_tagged_and_interfaces_are_facets():
    geo, gm, mesh = build(electrolyte_height=60e-6)
    assert set(mesh.region_names) == {"electrolyte", "anode", "cathode"}
    assert len(mesh.tet_region) == len(mesh.tets)
    assert set(np.unique(mesh.tet_region)) == {0, 1, 2}
    assert {"anode_interface", "cathode_interface", "substrate", "top", "symmetry",
            "anode_collector", "cathode_collector"} == set(mesh.boundary_tris)
    emesh, nodes = submesh(mesh.points_m, mesh.tets, mesh.region_mask("electrolyte"))
    for e in ("anode", "cathode"):
        tris = np.searchsorted(nodes, mesh.boundary_tris[f"{e}_interface"])
        f = find_facets(emesh, tris)
        assert len(np.unique(f)) == len(tris)
        assert np.isin(f, emesh.boundary_facets()).all()
        # the faceted interface area converges to the exact one
        p = emesh.p[:, emesh.facets[:, f]]
        area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0], axis=0), axis=0).sum()
        assert area == pytest.approx(gm.interface_area_m2[e], rel=2e-2)
    assert mesh.min_quality > 0.05


def test_mesh_is_reproducible_and_sessions_do_not_share_state():
    _, _, m1 = build()
    _, _, other = build(pitch=30e-6, anode_radius=5e-6, cathode_radius=5e-6)
    _, _, m2 = build()
    assert np.array_equal(m1.tets, m2.tets) and np.array_equal(m1.points_m, m2.points_m)
    assert len(other.tets) != len(m1.tets)


def test_sessions_never_nest():
    with gmsh_session():
        with pytest.raises(GeometryError, match="already open"):
            with gmsh_session():
                pass


def test_array_features_and_edges():
    geo, gm, mesh = build(domain=Domain("array", 4, 3), height=10e-6)
    assert len(geo.features) == 12
    interior = [(round(f.x_m * 1e6), round(f.y_m * 1e6)) for f in geo.features if not f.edge]
    assert interior == [(40, 40), (80, 40)]  # the only pillars of a 4 x 3 array off the outer ring
    assert sorted(f.electrode for f in geo.features) == ["anode"] * 6 + ["cathode"] * 6
    feats = mesh.boundary_feature["anode_interface"]
    assert set(np.unique(feats)) == {k for k, f in enumerate(geo.features) if f.electrode == "anode"}
    assert gm.footprint_area_m2 == pytest.approx(4 * 40e-6 * 3 * 40e-6)


def test_triangular_array_sublattices():
    a = registry.get("interdigitated_pillars")
    p = a.params(lattice="triangular")
    _, sites = p.array_sites(6, 6)
    cath = [(x, y) for e, x, y, _ in sites if e == "cathode"]
    assert len(cath) == 12
    for e, x, y, _ in sites:  # every cathode's nearest neighbours are anodes
        if e != "cathode":
            continue
        for e2, x2, y2, _ in sites:
            if abs(np.hypot(x2 - x, y2 - y) - p.pitch) < 1e-9:
                assert e2 == "anode"


def test_spatial_order_is_the_morton_curve():
    from geom3d.meshing import spatial_order

    ijk = np.array([(i, j, k) for i in range(8) for j in range(8) for k in range(8)])

    def interleave(i, j, k):       # bit b of x, y, z -> bits 3b, 3b + 1, 3b + 2
        return sum(((i >> b) & 1) << 3 * b | ((j >> b) & 1) << 3 * b + 1 | ((k >> b) & 1) << 3 * b + 2
                   for b in range(3))

    shuffle = np.random.default_rng(0).permutation(len(ijk))
    pts = ijk[shuffle] * 0.5e-6 + 3e-6                    # metres, off the origin
    order = spatial_order(pts)
    keys = [interleave(*ijk[shuffle][o]) for o in order]
    assert keys == list(range(len(ijk)))
    # a gmsh mesh is handed over in that order: neighbouring numbers are near in space
    _, _, mesh = build()
    step = np.linalg.norm(np.diff(mesh.points_m, axis=0), axis=1).mean()
    shuffled = np.linalg.norm(np.diff(mesh.points_m[np.random.default_rng(1).permutation(len(mesh.points_m))],
                                      axis=0), axis=1).mean()
    assert step < 0.25 * shuffled
