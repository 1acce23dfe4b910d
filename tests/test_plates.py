"""Interdigitated plates: exact volumes and areas, the uniform-field ASR, arrays with wall ends."""
import pytest

from conftest import SIGMA_LIPON_S_M, case_dict, run

SETS = [dict(anode_width=10, cathode_width=10, gap=10, height=50),
        dict(anode_width=6, cathode_width=14, gap=4, height=30, electrolyte_height=36)]


@pytest.mark.parametrize("geo", SETS, ids=["flush", "covered"])
def test_unit_cell_closed_form(geo):
    g = run(case_dict("interdigitated_plates", geo, mesh={"size": 4.0, "interface_size": 2.0})).record["geometry"]
    wa, wc, gap, h = geo["anode_width"], geo["cathode_width"], geo["gap"], geo["height"]
    he = geo.get("electrolyte_height", h)
    half = (wa + wc + 2 * gap) / 2          # cell: x in [0, P/2], y in [0, P/2]
    assert g["footprint_area_um2"] == pytest.approx(half * half, rel=1e-12)
    for e, w in (("anode", wa), ("cathode", wc)):
        assert g["volume_um3"][e] == pytest.approx(w / 2 * half * h, rel=1e-9)
        area = h * half + (w / 2 * half if he > h else 0.0)
        assert g["interface_area_um2"][e] == pytest.approx(area, rel=1e-9)
    assert g["volume_um3"]["electrolyte"] == pytest.approx(half * half * he - (wa + wc) / 2 * half * h, rel=1e-9)
    assert g["transparency_fraction"] == pytest.approx(1 - (wa + wc) / (2 * half), abs=1e-9)
    assert g["smallest_opaque_feature_um"] == pytest.approx(min(wa, wc), rel=1e-6)
    assert g["largest_opaque_feature_um"] == pytest.approx(max(wa, wc), rel=1e-6)


@pytest.mark.parametrize("order", [1, 2])
def test_walls_spanning_the_electrolyte_give_gap_over_sigma(order):
    geo = SETS[1] | {"electrolyte_height": 30}
    r = run(case_dict("interdigitated_plates", geo, mesh={"size": 3.0, "order": order}))
    s = r.record["solution"]
    half = (6 + 14 + 2 * 4) / 2
    asr_wall = geo["gap"] * 1e-6 / SIGMA_LIPON_S_M * 1e4          # ohm cm2 per wall area
    assert s["asr_ohm_cm2"] == pytest.approx(asr_wall * half / geo["height"], rel=0.005)
    assert s["singular_edges"] is False
    assert s["current_density_mA_cm2"]["cathode"]["cov"] < 1e-6


@pytest.mark.parametrize("geo", [dict(anode_width=10, cathode_width=10, gap=10, height=30, electrolyte_height=35,
                                      length=100, n_pairs=2),
                                 dict(anode_width=5, cathode_width=8, gap=6, height=20, length=40, n_pairs=3)],
                         ids=["covered-2", "flush-3"])
def test_array_closed_form_and_walls(geo):
    r = run(case_dict("interdigitated_plates", geo, domain="array", mesh={"size": 5.0, "interface_size": 2.0}))
    g, s = r.record["geometry"], r.record["solution"]
    wa, wc, gap, h, L, n = (geo[k] for k in ("anode_width", "cathode_width", "gap", "height", "length", "n_pairs"))
    he = geo.get("electrolyte_height", h)
    half = (wa + wc + 2 * gap) / 2
    width = (n - 1) * 2 * half + half + (wa + wc) / 2 + 2 * half   # walls span plus half a period each side
    assert g["footprint_area_um2"] == pytest.approx(width * (L + 2 * half), rel=1e-12)
    for e, w in (("anode", wa), ("cathode", wc)):
        wall = 2 * L * h + 2 * w * h + (w * L if he > h else 0.0)
        assert g["interface_area_um2"][e] == pytest.approx(n * wall, rel=1e-9)
        assert g["volume_um3"][e] == pytest.approx(n * w * L * h, rel=1e-9)
    walls = s["pillar_current_A"]
    assert [w["electrode"] for w in walls] == ["anode", "cathode"] * n
    assert sum(w["current_A"] for w in walls if w["electrode"] == "cathode") == pytest.approx(s["current_A"], rel=1e-6)
    assert s["singular_edges"] is True
    # the two outer walls face a counter electrode on one side only
    assert 0.4 < s["edge_over_interior_current"]["cathode" if n > 1 else "anode"] < 0.7
