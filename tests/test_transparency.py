"""Transparency from the projected geometry, for every architecture, against exact open areas; the
opaque feature size and the viewing distance; the mesh-projection path for curved sloped faces."""
import math

import gmsh
import pytest

from conftest import case_dict, run
from geom3d import Domain, gmsh_session, mesh_geometry
from geom3d.model import finish
from geom3d.transparency import ARCMINUTE_RAD, transparency

COARSE = {"size": 8.0, "interface_size": 4.0}


def record(arch, geo, **blocks):
    blocks.setdefault("mesh", COARSE)
    return run(case_dict(arch, geo, **blocks)).record["geometry"]


def test_planar_is_opaque():
    g = record("planar", {})
    assert g["transparency_fraction"] == 0.0
    assert g["smallest_opaque_feature_um"] is None and g["invisible_at_distance_cm"] is None


@pytest.mark.parametrize("shape", ["circle", "square"])
@pytest.mark.parametrize("domain", ["unit_cell", "array"])
def test_square_pillars(shape, domain):
    ra, rc, p = 8.0, 5.0, 30.0
    blocks = {"domain": domain, "array": {"nx": 2, "ny": 2}} if domain == "array" else {}
    g = record("interdigitated_pillars", dict(lattice="square", shape=shape, pitch=p, anode_radius=ra,
                                              cathode_radius=rc, height=10), **blocks)
    disk = (lambda r: math.pi * r * r) if shape == "circle" else (lambda r: 4 * r * r)
    if domain == "unit_cell":   # every p x p square holds half an anode and half a cathode
        exact = 1 - (disk(ra) + disk(rc)) / (2 * p * p)
    else:                       # 2 anodes + 2 cathodes in a (2p) x (2p) box
        exact = 1 - 2 * (disk(ra) + disk(rc)) / (4 * p * p)
    assert g["transparency_fraction"] == pytest.approx(exact, abs=1e-6)   # circles: 4096 points per turn
    assert g["smallest_opaque_feature_um"] == pytest.approx(2 * rc, rel=1e-4)
    assert g["largest_opaque_feature_um"] == pytest.approx(2 * ra, rel=1e-4)
    assert g["invisible_at_distance_cm"] == pytest.approx(2 * ra * 1e-4 / math.tan(ARCMINUTE_RAD), rel=1e-4)


def test_triangular_pillars():
    ra, rc, p = 6.0, 9.0, 30.0
    g = record("interdigitated_pillars", dict(lattice="triangular", pitch=p, anode_radius=ra, cathode_radius=rc,
                                              height=10))
    site = math.sqrt(3) / 2 * p * p          # area per lattice site; 1/3 cathodes, 2/3 anodes
    exact = 1 - math.pi * (rc * rc + 2 * ra * ra) / 3 / site
    assert g["transparency_fraction"] == pytest.approx(exact, abs=1e-6)
    assert g["smallest_opaque_feature_um"] == pytest.approx(2 * ra, rel=1e-4)
    assert g["largest_opaque_feature_um"] == pytest.approx(2 * rc, rel=1e-4)


def test_coaxial_open_annulus():
    a, b = 10.0, 20.0
    g = record("coaxial", dict(inner_radius=a, outer_radius=b, height=5))
    c = b + (b - a) / 2
    assert g["transparency_fraction"] == pytest.approx((b * b - a * a) / (c * c), abs=1e-5)
    assert g["smallest_opaque_feature_um"] == pytest.approx(c - b, rel=1e-4)   # the shell
    assert g["largest_opaque_feature_um"] == pytest.approx(2 * a, rel=1e-4)    # the pillar


def test_transmittance_scales_the_open_area():
    geo = dict(pitch=100, line_width=20)
    full = record("transparent_mesh", geo)["transparency_fraction"]
    dim = record("transparent_mesh", dict(geo, substrate_transmittance=0.85))["transparency_fraction"]
    assert full == pytest.approx(0.64, abs=1e-12)
    assert dim == pytest.approx(0.85 * full, rel=1e-12)


def test_sloped_curved_faces_from_the_surface_mesh():
    """An opaque sphere in a box of electrolyte: its shadow comes only from the projected surface
    triangles, and the open area is within the chordal bound perimeter x s^2 / (8 R)."""
    R, L, s = 4.0, 12.0, 0.8
    with gmsh_session():
        occ = gmsh.model.occ
        box = occ.addBox(0, 0, 0, L, L, L)
        ball = occ.addSphere(L / 2, L / 2, L / 2, R)
        _, children = occ.fragment([(3, box)], [(3, ball)])
        inner = {t for _, t in children[1]}
        regions = {"electrolyte": [t for _, t in children[0] if t not in inner], "anode": sorted(inner),
                   "cathode": []}
        geo = finish("test", Domain(), regions, lambda region, bb: "outer", (), L * L * 1e-12, False,
                     [(0, 0), (L * 1e-6, 0), (L * 1e-6, L * 1e-6), (0, L * 1e-6)], False)
        mesh_geometry(geo, s * 1e-6, s * 1e-6)
        tr = transparency(geo)
    exact = 1 - math.pi * R * R / (L * L)
    bound = 2 * math.pi * R * s * s / (8 * R) / (L * L)
    assert abs(tr.fraction - exact) <= bound
    assert tr.fraction > exact           # inscribed facets: the shadow is slightly too small
    assert tr.smallest_opaque_feature_m * 1e6 == pytest.approx(2 * R, rel=0.02)
