"""Trenched and porous silicon with a conformal stack: exact offset areas and volumes, collapsed thin
films, the thin-film limit of the ASR, arrays, reversed stacks."""
import math

import numpy as np
import pytest

from conftest import SIGMA_LIPON_S_M, case_dict, run

BASE = 1.0   # um of silicon under the etch (geom3d.trenched_silicon.SILICON_BELOW_M)
NOTTEN = [{"role": "barrier", "material": "TiN", "thickness": "50 nm"},
          {"role": "anode", "material": "Si", "thickness": "50 nm"},
          {"role": "electrolyte", "material": "LiPON", "thickness": 1.0},
          {"role": "cathode", "material": "LiCoO2", "thickness": 1.0}]


def offset_area(feature, p, w, D, d):
    """Area of the surface at distance d from the silicon per repeat unit (trench: per unit length
    over one pitch; pore: per pore), derived from the cross-section: bottom, walls, quarter-circle rims
    (Pappus for the pore), mesa tops."""
    a = w / 2
    if D == 0:
        return p if feature == "trench" else p * p
    assert d < D and d < a
    if feature == "trench":
        return (p - w) + 2 * (a - d) + 2 * (D - d) + math.pi * d     # mesa, bottom, walls, two rims
    return (p * p - math.pi * a * a + math.pi * (a - d) ** 2 + 2 * math.pi * (a - d) * (D - d)
            + 2 * math.pi * (a - 2 * d / math.pi) * (math.pi * d / 2))


def offset_volume(feature, p, w, D, d0, d1, n=2001):
    """Volume between two offsets: the integral of the offset area (a quadratic in d: Simpson exact)."""
    d = np.linspace(d0, d1, n)
    f = np.array([offset_area(feature, p, w, D, x) for x in d])
    h = (d1 - d0) / (n - 1)
    return h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())


def cell_scale(feature, p):
    """Unit cell: half a trench over a depth p/2 (= p/4 of the per-pitch length), or 1/8 pore."""
    return (p / 2) / 2 if feature == "trench" else 1 / 8


@pytest.mark.parametrize("feature", ["trench", "pore"])
@pytest.mark.parametrize("depth", [0.0, 8.0, 25.0, 60.0])
def test_interface_area_gain_closed_form(feature, depth):
    p, w = 20.0, 10.0
    g = run(case_dict("trenched_silicon", dict(feature=feature, width=w, depth=depth, pitch=p, layers=NOTTEN),
                      mesh={"size": 5.0, "interface_size": 2.5})).record["geometry"]
    unit = p if feature == "trench" else p * p
    if depth == 0:
        assert g["area_gain"]["anode"] == pytest.approx(1.0, abs=1e-12)
        assert g["area_gain"]["cathode"] == pytest.approx(1.0, abs=1e-12)
    # the anode|electrolyte interface is the silicon offset by barrier + anode (collapsed films)
    assert g["area_gain"]["anode"] == pytest.approx(offset_area(feature, p, w, depth, 0.1) / unit, rel=1e-3)
    assert g["area_gain"]["cathode"] == pytest.approx(offset_area(feature, p, w, depth, 1.1) / unit, rel=1e-3)
    assert g["collapsed_layers"] == ["barrier", "anode"]
    assert g["transparency_fraction"] == 0.0


@pytest.mark.parametrize("feature,geo", [
    ("trench", dict(width=10, depth=20, pitch=20)),
    ("trench", dict(width=12, depth=35, pitch=16)),
    ("pore", dict(width=10, depth=20, pitch=20)),
    ("pore", dict(width=8, depth=12, pitch=14)),
])
def test_layer_volumes_closed_form(feature, geo):
    r = run(case_dict("trenched_silicon", dict(geo, feature=feature, layers=NOTTEN),
                      mesh={"size": 5.0, "interface_size": 2.5})).record["geometry"]
    p, w, D = geo["pitch"], geo["width"], geo["depth"]
    k = cell_scale(feature, p)
    bounds = np.cumsum([0.0, 0.05, 0.05, 1.0, 1.0])
    by_role = {item["role"]: item for item in r["layers"]}
    for (role, _), d0, d1 in zip([("barrier", 0), ("anode", 1), ("electrolyte", 2), ("cathode", 3)],
                                 bounds[:-1], bounds[1:]):
        exact = k * offset_volume(feature, p, w, D, d0, d1)
        assert by_role[role]["volume_um3"] == pytest.approx(exact, rel=1e-3), role
        assert r["volume_um3"][role] == pytest.approx(exact, rel=1e-3), role
        unit = p if feature == "trench" else p * p
        assert by_role[role]["area_gain"] == pytest.approx(
            offset_volume(feature, p, w, D, d0, d1) / (d1 - d0) / unit, rel=1e-3)
    # silicon carries the collapsed films; the collector fills the rest up to the stack top T
    cell = r["footprint_area_um2"]
    hole = (w / 2) * D * (p / 2) if feature == "trench" else math.pi * (w / 2) ** 2 * D / 8
    silicon0 = cell * (D + BASE) - hole
    assert r["volume_um3"]["silicon"] == pytest.approx(silicon0 + k * offset_volume(feature, p, w, D, 0, 0.1), rel=1e-3)
    T = 2.1
    assert r["volume_um3"]["collector"] == pytest.approx(
        cell * (T + D + BASE) - silicon0 - k * offset_volume(feature, p, w, D, 0, T), rel=1e-3)
    # capacity per footprint of the cathode film against the same film on a flat substrate
    cath = by_role["cathode"]
    assert cath["capacity_uAh_cm2"] / cath["flat_capacity_uAh_cm2"] == pytest.approx(cath["area_gain"], rel=1e-9)
    # what the collapsed films keep for electrode conduction: sigma x t (library TiN 1e4 S/cm, Si 3e-6 S/cm)
    assert by_role["barrier"]["sheet_conductance_S"] == pytest.approx(1e6 * 50e-9, rel=1e-9)
    assert by_role["anode"]["sheet_conductance_S"] == pytest.approx(3e-4 * 50e-9, rel=1e-9)


def test_thin_film_limit_of_the_asr(capsys):
    """Wide, deep trench, 1 um electrolyte: a planar cell of larger area; current uniform except at
    the corners of the trench."""
    p, w, D = 40.0, 20.0, 30.0
    res = run(case_dict("trenched_silicon", dict(width=w, depth=D, pitch=p, layers=NOTTEN),
                        mesh={"size": 3.0, "interface_size": 0.4, "order": 2}))
    g, s = res.record["geometry"], res.record["solution"]
    gain = next(item["area_gain"] for item in g["layers"] if item["role"] == "electrolyte")
    asr_film = 1e-6 / SIGMA_LIPON_S_M * 1e4 / gain
    assert s["asr_ohm_cm2"] == pytest.approx(asr_film, rel=0.02)
    cd = s["current_density_mA_cm2"]["cathode"]
    assert cd["cov"] < 0.15 and cd["fraction_within_10pct"] > 0.85
    # where the current density is off by more than 10 %: only near the corners of the cathode surface
    f, pts = res.fields, res.mesh.points_m * 1e6
    tri = pts[f.interface_tris]
    c = tri.mean(axis=1)
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    cath = f.interface_electrode == 2
    j = f.interface_j_A_m2[cath] * 0.1
    mean = (j * area[cath]).sum() / area[cath].sum()
    a, d = w / 2, 1.1
    x, z = c[cath, 0], c[cath, 2]
    corner = np.minimum(np.hypot(x - (a - d), z - (-D + d)), np.hypot(x - a, z))   # bottom corner, rim
    off = np.abs(j / mean - 1) > 0.1
    assert corner[off].max() < 4.0, "current density off by > 10 % away from the corners"
    hist, edges = np.histogram(j / mean, bins=12, weights=area[cath])
    with capsys.disabled():
        print(f"\ntrench {w:g} x {D:g} um, pitch {p:g}: ASR {s['asr_ohm_cm2']:.3f} ohm cm2, thin-film "
              f"{asr_film:.3f} ({s['asr_ohm_cm2'] / asr_film - 1:+.2%}); cathode j/mean, area histogram:")
        for h, lo, hi in zip(hist / hist.sum(), edges[:-1], edges[1:]):
            print(f"  {lo:5.2f}-{hi:5.2f} {'#' * int(round(60 * h)):<60} {h:6.1%}")
        print(f"  off by > 10 %: {area[cath][off].sum() / area[cath].sum():.1%} of the area, all within "
              f"{corner[off].max():.2f} um of a corner")


def test_collapsing_keeps_the_resolved_geometry():
    """Mesh the barrier and anode (thin_layer_limit below them) or collapse them: the electrolyte, its
    interfaces, the capacities and the ASR stay the same."""
    stack = [{"role": "barrier", "material": "TiN", "thickness": 0.3},
             {"role": "anode", "material": "Si", "thickness": 0.3},
             {"role": "electrolyte", "material": "LiPON", "thickness": 1.0},
             {"role": "cathode", "material": "LiCoO2", "thickness": 1.0}]
    geo = dict(width=10, depth=10, pitch=20, layers=stack)
    out = {}
    for limit in (0.1, 0.5):
        r = run(case_dict("trenched_silicon", geo, mesh={"size": 2.0, "interface_size": 0.3, "order": 2,
                                                         "thin_layer_limit": limit})).record
        out[limit] = r
    meshed, collapsed = out[0.1], out[0.5]
    assert meshed["geometry"]["collapsed_layers"] == []
    assert collapsed["geometry"]["collapsed_layers"] == ["barrier", "anode"]
    assert set(meshed["mesh"]["region_ids"]) == {"silicon", "barrier", "anode", "electrolyte", "cathode", "collector"}
    assert set(collapsed["mesh"]["region_ids"]) == {"silicon", "electrolyte", "cathode", "collector"}
    for key in ("interface_area_um2", "capacity_by_electrode_uAh_cm2"):
        for e in ("anode", "cathode"):
            assert collapsed["geometry"][key][e] == pytest.approx(meshed["geometry"][key][e], rel=1e-9)
    assert collapsed["geometry"]["volume_um3"]["electrolyte"] == pytest.approx(
        meshed["geometry"]["volume_um3"]["electrolyte"], rel=1e-9)
    assert collapsed["solution"]["asr_ohm_cm2"] == pytest.approx(meshed["solution"]["asr_ohm_cm2"], rel=5e-3)


def test_reversed_stack_and_void_fill():
    """Cathode under the electrolyte (collapsed onto the silicon), anode on top, nothing in the trench."""
    stack = [{"role": "cathode", "material": "LiCoO2", "thickness": "80 nm"},
             {"role": "electrolyte", "material": "LiPON", "thickness": 1.0},
             {"role": "anode", "material": "Si", "thickness": 0.5}]
    r = run(case_dict("trenched_silicon", dict(feature="pore", width=12, depth=10, pitch=20, layers=stack,
                                               fill="void"), mesh={"size": 3.0, "interface_size": 0.5}))
    g = r.record["geometry"]
    assert g["collapsed_layers"] == ["cathode"]
    assert "collector" not in r.record["mesh"]["region_ids"]
    assert g["area_gain"]["cathode"] == pytest.approx(offset_area("pore", 20, 12, 10, 0.08) / 400, rel=1e-3)
    assert g["area_gain"]["anode"] == pytest.approx(offset_area("pore", 20, 12, 10, 1.08) / 400, rel=1e-3)
    assert r.record["solution"]["current_A"] > 0


@pytest.mark.parametrize("feature,array", [("trench", {"nx": 3, "ny": 1}), ("pore", {"nx": 2, "ny": 2})])
def test_arrays(feature, array):
    geo = dict(feature=feature, width=10, depth=10, pitch=20, layers=NOTTEN)
    mesh = {"size": 4.0, "interface_size": 0.6}
    cell = run(case_dict("trenched_silicon", geo, mesh=mesh)).record
    arr = run(case_dict("trenched_silicon", geo, domain="array", array=array, mesh=mesh)).record
    n = array["nx"] * array["ny"]
    # the chip is n repeat units plus half a pitch of mesa around: same area gain as the cell
    assert arr["geometry"]["footprint_area_um2"] == pytest.approx(
        n * (20 * 10 if feature == "trench" else 400), rel=1e-12)
    for e in ("anode", "cathode"):
        assert arr["geometry"]["area_gain"][e] == pytest.approx(cell["geometry"]["area_gain"][e], rel=1e-9)
    feats = arr["solution"]["pillar_current_A"]
    assert len(feats) == 2 * n
    assert sum(f["current_A"] for f in feats if f["electrode"] == "cathode") < arr["solution"]["current_A"]
    assert arr["solution"]["asr_ohm_cm2"] == pytest.approx(cell["solution"]["asr_ohm_cm2"], rel=0.02)
