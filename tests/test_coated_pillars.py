"""Coated pillars: exact volumes and areas (rounded rim included), film thickness on the mesh, the
coaxial limit of a tall pillar, core swap, arrays."""
import math

import numpy as np
import pytest

from conftest import SIGMA_LIPON_S_M, case_dict, run
from solvers.materials import library


def closed_form(lattice, pitch, radius, height, t, fill_height):
    """Per-pillar volumes and interface areas, derived independently of the generator (um)."""
    pi, r, h, H = math.pi, radius, height, fill_height
    A = pitch ** 2 if lattice == "square" else math.sqrt(3) / 2 * pitch ** 2
    # core + film on the pillar: cylinder r+t to h, disk r over h..h+t, rim = quarter disk of radius t
    # revolved about the axis at centroid distance r + 4t/(3 pi) (Pappus)
    rim_volume = 2 * pi * (r + 4 * t / (3 * pi)) * (pi * t * t / 4)
    coated = pi * (r + t) ** 2 * h + pi * r * r * t + rim_volume
    solid = coated + A * t - pi * (r + t) ** 2 * t          # plus the film on the substrate
    core = pi * r * r * h
    rim_area = 2 * pi * (r + 2 * t / pi) * (pi * t / 2)       # quarter arc, centroid r + 2t/pi
    return {"A": A, "core_volume": core, "electrolyte_volume": solid - core, "fill_volume": A * H - solid,
            "core_area": 2 * pi * r * h + pi * r * r,
            "fill_area": A - pi * (r + t) ** 2 + 2 * pi * (r + t) * (h - t) + rim_area + pi * r * r}


SETS = [
    dict(lattice="square", core="cathode", pitch=20, radius=5, height=50, electrolyte_thickness=1, fill_height=55),
    dict(lattice="hexagonal", core="anode", pitch=16, radius=3, height=25, electrolyte_thickness=2.5, fill_height=28),
]


@pytest.mark.parametrize("geo", SETS, ids=["square-cathode", "hexagonal-anode"])
@pytest.mark.parametrize("domain", ["unit_cell", "array"])
def test_volumes_and_areas_closed_form(geo, domain):
    blocks = {"mesh": {"size": 4.0, "interface_size": 2.0}}
    if domain == "array":
        blocks.update(domain="array", array={"nx": 2, "ny": 2})
    g = run(case_dict("coated_pillars", geo, **blocks)).record["geometry"]
    cf = closed_form(geo["lattice"], geo["pitch"], geo["radius"], geo["height"],
                     geo["electrolyte_thickness"], geo["fill_height"])
    core, fill = geo["core"], ("anode" if geo["core"] == "cathode" else "cathode")
    if domain == "unit_cell":
        n = 1 / 8 if geo["lattice"] == "square" else 1 / 12
        fp = n * cf["A"]
        extra_fill_area, extra_fill_vol = 0.0, 0.0
    else:
        n = 4
        fp = g["footprint_area_um2"]
        # the margin outside the n cells: flat film under the fill
        extra = fp - n * cf["A"]
        extra_fill_area, extra_fill_vol = extra, extra * (geo["fill_height"] - geo["electrolyte_thickness"])
        p = geo["pitch"]
        box = (2 * p) * (2 * p) if geo["lattice"] == "square" else (2.5 * p) * (p * math.sqrt(3) / 2 + p)
        assert fp == pytest.approx(box, rel=1e-12)
    assert g["footprint_area_um2"] == pytest.approx(fp, rel=1e-9)
    assert g["volume_um3"][core] == pytest.approx(n * cf["core_volume"], rel=1e-3)
    assert g["volume_um3"]["electrolyte"] == pytest.approx(n * cf["electrolyte_volume"]
                                                           + extra_fill_area * geo["electrolyte_thickness"], rel=1e-3)
    assert g["volume_um3"][fill] == pytest.approx(n * cf["fill_volume"] + extra_fill_vol, rel=1e-3)
    assert g["interface_area_um2"][core] == pytest.approx(n * cf["core_area"], rel=1e-3)
    assert g["interface_area_um2"][fill] == pytest.approx(n * cf["fill_area"] + extra_fill_area, rel=1e-3)
    assert g["transparency_fraction"] == 0.0  # the fill covers the footprint


def _pillar_distance(points_um, centres_um, r, h):
    """Distance of points (z >= 0) to the union of the pillars (radius r, height h) and the substrate."""
    x, y, z = points_um.T
    best = z.copy()                                   # the substrate plane z = 0
    for cx, cy in centres_um:
        rho = np.hypot(x - cx, y - cy)
        d = np.hypot(np.maximum(rho - r, 0.0), np.maximum(z - h, 0.0))
        best = np.minimum(best, d)
    return best


@pytest.mark.parametrize("domain", ["unit_cell", "array"])
def test_film_thickness_on_the_mesh(domain):
    geo = dict(lattice="hexagonal", pitch=16, radius=4, height=12, electrolyte_thickness=1.5, fill_height=16)
    blocks = {"mesh": {"size": 2.0, "interface_size": 0.5}}
    if domain == "array":
        blocks.update(domain="array", array={"nx": 2, "ny": 2})
    res = run(case_dict("coated_pillars", geo, **blocks))
    mesh = res.mesh
    outer = np.unique(mesh.boundary_tris["anode_interface"])   # fill = anode for core cathode
    pts = mesh.points_m[outer] * 1e6
    centres = [(f["x_um"], f["y_um"]) for f in res.record["solution"].get("pillar_current_A", [])
               if f["electrode"] == "cathode"] or [(0.0, 0.0)]
    d = _pillar_distance(pts, centres, geo["radius"], geo["height"])
    assert len(pts) > 300
    # sampled everywhere: sides, rim, tops and the substrate film
    assert (pts[:, 2] > geo["height"]).sum() > 20 and (pts[:, 2] < 1.01 * geo["electrolyte_thickness"]).sum() > 20
    assert np.abs(d / geo["electrolyte_thickness"] - 1).max() < 0.01


def current_per_height(res, r, h):
    """Current per unit height of the whole core pillar along its middle (0.3 h to 0.7 h), A/m: the
    mean normal current density on the core side facets there times the perimeter 2 pi r."""
    f, pts = res.fields, res.mesh.points_m
    tri = pts[f.interface_tris]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    zc = tri[:, :, 2].mean(axis=1) * 1e6
    band = (f.interface_electrode == 2) & (zc > 0.3 * h) & (zc < 0.7 * h)   # core = cathode
    j = (f.interface_j_A_m2[band] * area[band]).sum() / area[band].sum()
    return j * 2 * math.pi * r * 1e-6


def coaxial_per_height(r, t, volts=0.1):
    return 2 * math.pi * SIGMA_LIPON_S_M * volts / math.log((r + t) / r)


@pytest.mark.parametrize("lattice", ["square", "hexagonal"])
def test_tall_pillar_current_per_height_is_coaxial(lattice):
    r, t, h = 5.0, 1.0, 100.0
    res = run(case_dict("coated_pillars", dict(lattice=lattice, pitch=14, radius=r, height=h,
                                               electrolyte_thickness=t, fill_height=h + 3),
                        physics={"voltage": "0.1 V"}, mesh={"size": 1.5, "interface_size": 0.35, "order": 2}))
    per_height, exact = current_per_height(res, r, h), coaxial_per_height(r, t)
    print(f"{lattice}: current per height {per_height:.6e} A/m, coaxial {exact:.6e} A/m "
          f"({per_height / exact - 1:+.3%})")
    assert per_height == pytest.approx(exact, rel=0.01)


@pytest.mark.slow
def test_coaxial_limit_converges():
    """The error of the current per height against the coaxial solution falls under refinement."""
    r, t, h = 5.0, 1.0, 70.0
    errors = []
    for size, isize in ((2.0, 0.5), (1.4, 0.33), (1.0, 0.25)):
        res = run(case_dict("coated_pillars", dict(pitch=14, radius=r, height=h, electrolyte_thickness=t,
                                                   fill_height=h + 3),
                            mesh={"size": size, "interface_size": isize, "order": 2}))
        errors.append(abs(current_per_height(res, r, h) / coaxial_per_height(r, t) - 1))
    print("coaxial-limit errors:", ", ".join(f"{e:.3%}" for e in errors))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.003


def test_core_swap_is_the_same_cell():
    geo = dict(pitch=20, radius=5, height=20, electrolyte_thickness=1, fill_height=24)
    mesh = {"size": 3.0, "interface_size": 0.6}
    a = run(case_dict("coated_pillars", dict(geo, core="cathode"), mesh=mesh)).record
    b = run(case_dict("coated_pillars", dict(geo, core="anode"), mesh=mesh)).record
    assert a["solution"]["asr_ohm_cm2"] == pytest.approx(b["solution"]["asr_ohm_cm2"], rel=1e-6)
    assert a["geometry"]["area_gain"]["cathode"] == pytest.approx(b["geometry"]["area_gain"]["anode"], rel=1e-12)
    # the core is the limiting electrode either way (library Li 0.534 g/cm3 x 3861 mAh/g = 2062 mAh/cm3,
    # LiCoO2 5.05 g/cm3 x 140 mAh/g = 707 mAh/cm3; per unit cell the core holds 196 um3 against 868 um3
    # of fill): a LiCoO2 core (cathode) holds 196 x 707 against 868 x 2062 of Li, 13x less; a Li core
    # (anode) holds 196 x 2062 against 868 x 707 of LiCoO2, 1.5x less
    shown = {"anode": library()["Li"].display(), "cathode": library()["LiCoO2"].display()}
    for rec, limiting in ((a, "cathode"), (b, "anode")):
        g, cap = rec["geometry"], rec["geometry"]["capacity_by_electrode_uAh_cm2"]
        assert g["limiting_electrode"] == min(cap, key=cap.get) == limiting
        assert g["capacity_uAh_cm2"] == cap[limiting]
        for e, m in shown.items():
            # cm3 x g/cm3 x mAh/g x 1e3 uAh/mAh over the footprint in cm2
            expected = g["volume_um3"][e] * 1e-12 * m["density"] * m["specific_capacity"] * 1e3 \
                / (g["footprint_area_um2"] * 1e-8)
            assert cap[e] == pytest.approx(expected, rel=1e-9), (e, limiting)


def test_array_lists_every_pillar():
    res = run(case_dict("coated_pillars", dict(pitch=14, radius=3, height=10, electrolyte_thickness=1,
                                               fill_height=13),
                        domain="array", array={"nx": 3, "ny": 3}, mesh={"size": 2.5, "interface_size": 0.6}))
    s = res.record["solution"]
    pillars = [p for p in s["pillar_current_A"] if p["electrode"] == "cathode"]
    assert len(pillars) == 9 and sum(not p["edge"] for p in pillars) == 1
    total = sum(p["current_A"] for p in pillars)
    assert total == pytest.approx(s["current_A"], rel=1e-6)
    # unlike interdigitated pillars (edge/interior 0.77), the thin film carries the whole drop and the
    # fill is an equipotential: edge pillars carry the same current as the centre one
    assert s["edge_over_interior_current"]["cathode"] == pytest.approx(1.0, abs=2e-3)
    fill = [p for p in s["pillar_current_A"] if p["electrode"] == "anode"]
    assert len(fill) == 1 and fill[0]["current_A"] == pytest.approx(total, rel=1e-6)
