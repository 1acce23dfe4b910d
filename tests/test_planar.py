"""Planar stack: the primary ASR is exactly t / sigma, the area gain 1 and the current uniform."""
import pytest

from conftest import SIGMA_LIPON_S_M, case_dict, run
from solvers.materials import library


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("t_um", [0.5, 2.0])
def test_planar_asr_exact(order, t_um):
    r = run(case_dict("planar", {"width": 5, "electrolyte_thickness": t_um},
                      mesh={"size": 1.0, "interface_size": 0.5, "order": order}))
    s, g = r.record["solution"], r.record["geometry"]
    asr_exact = t_um * 1e-6 / SIGMA_LIPON_S_M * 1e4  # ohm cm2
    assert s["asr_ohm_cm2"] == pytest.approx(asr_exact, rel=1e-6)
    assert g["area_gain"] == {"anode": 1.0, "cathode": 1.0}
    for e in ("anode", "cathode"):
        stats = s["current_density_mA_cm2"][e]
        assert stats["cov"] < 1e-6
        assert stats["mean"] == pytest.approx(0.1 / asr_exact * 1e3, rel=1e-6)  # V/ASR in mA/cm2
    assert s["asr_gain_vs_planar"] == pytest.approx(1.0, rel=1e-6)


def test_planar_temperature_follows_arrhenius():
    r25 = run(case_dict("planar", physics={"temperature": "25 degC"}, mesh={"size": 2.0, "interface_size": 2.0}))
    r80 = run(case_dict("planar", physics={"temperature": "353.15 K"}, mesh={"size": 2.0, "interface_size": 2.0}))
    ratio = r25.record["solution"]["asr_ohm_cm2"] / r80.record["solution"]["asr_ohm_cm2"]
    lipon = library()["LiPON"]
    assert ratio == pytest.approx(lipon.conductivity_at(353.15) / lipon.conductivity_at(298.15), rel=1e-6)


def test_planar_capacity_and_energy():
    r = run(case_dict("planar", {"cathode_thickness": 2.0, "anode_thickness": 1.0},
                      mesh={"size": 2.0, "interface_size": 2.0}))
    g = r.record["geometry"]
    lib = library()
    # per cm2: thickness (cm) x density (g/cm3) x capacity (mAh/g) -> mAh/cm2 -> uAh/cm2
    c, a = lib["LiCoO2"].display(), lib["Li"].display()
    cath = 2e-4 * c["density"] * c["specific_capacity"] * 1e3
    anod = 1e-4 * a["density"] * a["specific_capacity"] * 1e3
    assert g["capacity_by_electrode_uAh_cm2"]["cathode"] == pytest.approx(cath, rel=1e-9)
    assert g["capacity_by_electrode_uAh_cm2"]["anode"] == pytest.approx(anod, rel=1e-9)
    assert g["capacity_uAh_cm2"] == pytest.approx(min(cath, anod), rel=1e-12)
    emf = lib["LiCoO2"].display()["potential"] - lib["Li"].display()["potential"]
    assert g["energy_uWh_cm2"] == pytest.approx(min(cath, anod) * emf, rel=1e-12)
