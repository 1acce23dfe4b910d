"""Secondary current distribution (Butler-Volmer, electrode conduction, temperature) against closed forms.

- the kinetics: inverse, film solve and consistent derivative;
- planar cell, symmetric Butler-Volmer: V = ocv - j t / sigma - (2RT/F)[asinh(j/2i0a) + asinh(j/2i0c)]
  at current densities from the linear to the Tafel regime, galvanostatic and potentiostatic;
- planar cell with electrode conduction: extra loss = j (t_a / s_a + t_c / s_c);
- coaxial cylinders, linear kinetics: series resistance ln(b/a) / (2 pi sigma h) + R_ct / A per
  interface;
- the primary distribution as the limit of fast kinetics, and the cov falling as the Wagner number grows;
- Arrhenius temperature dependence; the loss breakdown summing to ocv - V; clear errors.
"""
import math

import numpy as np
import pytest

from conftest import SIGMA_LIPON_S_M, case_dict, run
from mb3d.case import CaseError, load_case
from mb3d.pipeline import run_case
from solvers.kinetics import FARADAY, GAS_CONSTANT, Kinetics

T25 = 298.15
RT_F = GAS_CONSTANT * T25 / FARADAY
PLANAR = {"width": 10, "cathode_thickness": 2, "electrolyte_thickness": 1.5, "anode_thickness": 3}
I0 = {"anode": 10.0, "cathode": 1.0}       # A/m2: the library's Li (1 mA/cm2) and LiCoO2 (0.1 mA/cm2)
OCV = 3.9


def secondary(geometry, arch="planar", mesh=None, materials=None, **physics):
    raw = case_dict(arch, geometry, physics={"model": "secondary", **physics}, mesh=mesh or {"size": 2.0})
    if materials:
        raw["materials"] = materials
    return run(raw)


# --- kinetics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [(0.5, 0.5), (0.3, 0.7)])
def test_kinetics_inverse_and_derivative(alpha):
    k = Kinetics(2.0, alpha[0], alpha[1], T25)
    i = np.array([-50.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 50.0])
    eta = k.overpotential(i)
    assert np.allclose(k.law(eta)[0], i, rtol=1e-12, atol=1e-15)
    h = 1e-7
    num = (k.law(eta + h)[0] - k.law(eta - h)[0]) / (2 * h)
    assert np.allclose(k.law(eta)[1], num, rtol=1e-6)
    # the linearised law has the slope of the full one at eta = 0
    assert k.law(np.array([0.0]))[1][0] == pytest.approx(1 / k.charge_transfer_resistance_ohm_m2, rel=1e-12)


def test_kinetics_with_film():
    r = 0.05    # ohm m2
    k = Kinetics(1.0, 0.5, 0.5, T25, film_resistance_ohm_m2=r)
    delta = np.array([-1.0, -0.2, 0.0, 0.05, 0.3, 2.0])
    i, di, eta = k.current(delta)
    assert np.allclose(eta + r * i, delta, atol=1e-13)              # the film takes r i
    assert np.allclose(k.law(eta)[0], i, rtol=1e-12)
    h = 1e-7
    num = (k.current(delta + h)[0] - k.current(delta - h)[0]) / (2 * h)
    assert np.allclose(di, num, rtol=1e-6)
    assert np.allclose(k.total_overpotential(i), delta, atol=1e-12)


# --- planar closed forms -----------------------------------------------------------------------
def planar_voltage(j_A_m2, t_m=1.5e-6, sigma=SIGMA_LIPON_S_M):
    return OCV - j_A_m2 * t_m / sigma - 2 * RT_F * (math.asinh(j_A_m2 / (2 * I0["anode"]))
                                                    + math.asinh(j_A_m2 / (2 * I0["cathode"])))


@pytest.mark.parametrize("j_mA_cm2", [0.001, 0.5, 30.0])   # j/2i0c = 0.005 (linear) ... 150 (Tafel)
def test_planar_butler_volmer_closed_form(j_mA_cm2):
    r = secondary(PLANAR, current_density=f"{j_mA_cm2} mA/cm2")
    s = r.record["solution"]
    j = j_mA_cm2 * 10.0
    assert s["cell_voltage_V"] == pytest.approx(planar_voltage(j), rel=1e-6)
    assert s["ocv_V"] == pytest.approx(OCV, rel=1e-12)
    op = s["overpotential_V"]
    assert op["electrolyte_ohmic"] == pytest.approx(j * 1.5e-6 / SIGMA_LIPON_S_M, rel=1e-6)
    assert op["anode_kinetic"] == pytest.approx(2 * RT_F * math.asinh(j / (2 * I0["anode"])), rel=1e-6)
    assert op["cathode_kinetic"] == pytest.approx(2 * RT_F * math.asinh(j / (2 * I0["cathode"])), rel=1e-6)
    assert op["total"] == pytest.approx(OCV - s["cell_voltage_V"], rel=1e-6)
    assert s["asr_ohm_cm2"] == pytest.approx((OCV - s["cell_voltage_V"]) / (j_mA_cm2 * 1e-3), rel=1e-9)
    assert s["planar_equivalent"]["asr_ohm_cm2"] == pytest.approx(s["asr_ohm_cm2"], rel=1e-6)
    # uniform current, equal on both sides
    assert s["current_density_mA_cm2"]["cathode"]["mean"] == pytest.approx(j_mA_cm2, rel=1e-6)
    assert s["anode_current_A"] == pytest.approx(s["current_A"], rel=1e-9)


def test_planar_potentiostatic_inverts_galvanostatic():
    j = 20.0    # A/m2 (2 mA/cm2)
    r = secondary(PLANAR, cell_voltage=f"{planar_voltage(j)} V", mesh={"size": 2.0, "order": 2})
    s = r.record["solution"]
    assert s["operation"] == "potentiostatic"
    assert s["footprint_current_density_mA_cm2"] == pytest.approx(j / 10, rel=1e-6)
    assert s["overpotential_balance_relative_error"] < 1e-6


def test_planar_linear_kinetics():
    j = 5.0
    r = secondary(PLANAR, current_density=f"{j / 10} mA/cm2", kinetics="linear")
    rct = sum(RT_F / I0[e] for e in I0)          # R_ct = RT / (F i0 (alpha_a + alpha_c)), alpha sum 1
    expect = OCV - j * (1.5e-6 / SIGMA_LIPON_S_M + rct)
    assert r.record["solution"]["cell_voltage_V"] == pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize("order", [1, 2])
def test_planar_electrode_conduction(order):
    """Extra loss with electrode conduction = j (t_a / s_a + t_c / s_c)."""
    s_a, s_c = 1e-4, 1e-3     # S/cm: Li made poor on purpose, the library's LiCoO2
    mats = {"anode": {"base": "Li", "electronic_conductivity": f"{s_a} S/cm"}, "cathode": "LiCoO2"}
    j = 10.0
    runs = {c: secondary(PLANAR, current_density="1 mA/cm2", electrode_conduction=c, materials=mats,
                         mesh={"size": 2.0, "order": order}).record["solution"] for c in (False, True)}
    extra = runs[False]["cell_voltage_V"] - runs[True]["cell_voltage_V"]
    expect_a, expect_c = j * 3e-6 / (s_a * 100), j * 2e-6 / (s_c * 100)
    assert extra == pytest.approx(expect_a + expect_c, rel=1e-6)
    op = runs[True]["overpotential_V"]
    assert op["anode_ohmic"] == pytest.approx(expect_a, rel=1e-6)
    assert op["cathode_ohmic"] == pytest.approx(expect_c, rel=1e-6)
    assert runs[True]["overpotential_balance_relative_error"] < 1e-6


# --- coaxial, linear kinetics ------------------------------------------------------------------
@pytest.mark.parametrize("operation", ["galvanostatic", "potentiostatic"])
def test_coaxial_linear_kinetics_series_resistance(operation):
    a, b, h = 10e-6, 20e-6, 5e-6
    geo = {"inner_radius": 10, "outer_radius": 20, "height": 5}
    physics = {"kinetics": "linear"}
    physics.update({"current_density": "0.05 mA/cm2"} if operation == "galvanostatic" else {"cell_voltage": "3.6 V"})
    r = secondary(geo, "coaxial", mesh={"size": 1.0, "interface_size": 1.0, "order": 2}, **physics)
    s = r.record["solution"]
    # a quarter of the cell: four times the resistance of the whole
    r_e = math.log(b / a) / (2 * math.pi * SIGMA_LIPON_S_M * h) * 4
    area = {"anode": 2 * math.pi * a * h / 4, "cathode": 2 * math.pi * b * h / 4}
    r_total = r_e + sum(RT_F / I0[e] / area[e] for e in I0)
    loss = OCV - s["cell_voltage_V"]
    assert s["current_A"] == pytest.approx(loss / r_total, rel=5e-3)
    assert s["overpotential_V"]["electrolyte_ohmic"] == pytest.approx(s["current_A"] * r_e, rel=5e-3)


# --- limits: primary, Wagner -------------------------------------------------------------------
def test_primary_is_the_limit_of_fast_kinetics_and_cov_falls_with_wagner():
    geo = {"lattice": "square", "pitch": 20, "anode_radius": 5, "cathode_radius": 5, "height": 20}
    mesh = {"size": 3, "interface_size": 1.0, "order": 2}
    prim = run(case_dict("interdigitated_pillars", geo, mesh=mesh)).record["solution"]
    covs, wagner, asr = [], [], []
    for i0 in (0.01, 0.1, 1.0, 10.0, 1e4):       # mA/cm2
        mats = {e: {"base": m, "exchange_current_density": f"{i0} mA/cm2"}
                for e, m in (("anode", "Li"), ("cathode", "LiCoO2"))}
        rec = secondary(geo, "interdigitated_pillars", mesh=mesh, materials=mats,
                        current_density="0.01 mA/cm2").record
        s, fp_cm2 = rec["solution"], rec["geometry"]["footprint_area_um2"] * 1e-8
        covs.append(s["current_density_mA_cm2"]["cathode"]["cov"])
        wagner.append(s["wagner_number"]["cathode"])
        asr.append(s["overpotential_V"]["electrolyte_ohmic"] * fp_cm2 / s["current_A"])   # ohm cm2
    assert all(w1 > w2 for w1, w2 in zip(wagner, wagner[1:]))          # i0 up, Wagner number down
    assert all(c1 < c2 for c1, c2 in zip(covs, covs[1:]))              # ... and nonuniformity up
    primary_cov = prim["current_density_mA_cm2"]["cathode"]["cov"]
    assert covs[-1] == pytest.approx(primary_cov, rel=2e-3)            # Wa ~ 3e-6: the primary
    assert abs(covs[-2] - primary_cov) > abs(covs[-1] - primary_cov)
    assert asr[-1] == pytest.approx(prim["asr_ohm_cm2"], rel=1e-5)
    assert covs[0] < 0.05 * primary_cov                                 # Wa ~ 2: nearly uniform


# --- temperature -------------------------------------------------------------------------------
def test_arrhenius_ratio_of_asr():
    """ASR(60 degC) / ASR(25 degC) = sigma(25) / sigma(60) from the library's activation energy:
    exactly for the primary model, and for the electrolyte share of the secondary losses."""
    ea = 0.55 * 1.602176634e-19
    ratio = math.exp(-ea / 1.380649e-23 * (1 / 298.15 - 1 / 333.15))     # sigma(25) / sigma(60)
    geo = {"lattice": "square", "pitch": 20, "anode_radius": 5, "cathode_radius": 5, "height": 20}
    mesh = {"size": 3, "interface_size": 1.5}
    asr = {T: run(case_dict("interdigitated_pillars", geo, mesh=mesh, physics={"temperature": f"{T} degC"}))
           .record["solution"]["asr_ohm_cm2"] for T in (25, 60)}
    assert asr[60] / asr[25] == pytest.approx(ratio, rel=1e-9)
    loss = {T: secondary(PLANAR, current_density="0.1 mA/cm2", temperature=f"{T} degC")
            .record["solution"]["overpotential_V"] for T in (25, 60)}
    assert loss[60]["electrolyte_ohmic"] / loss[25]["electrolyte_ohmic"] == pytest.approx(ratio, rel=1e-9)
    # the kinetic losses follow 2RT/F asinh(j / 2 i0) at each temperature (i0 held constant)
    for T, lo in loss.items():
        rt_f = GAS_CONSTANT * (T + 273.15) / FARADAY
        assert lo["cathode_kinetic"] == pytest.approx(2 * rt_f * math.asinh(1.0 / (2 * I0["cathode"])), rel=1e-6)


# --- collapsed films, arrays, errors -----------------------------------------------------------
def test_trench_collapsed_anode_film_resistance():
    """The 50 nm Si anode is collapsed onto the silicon: with electrode conduction its electrons cross
    the film, r = t / s in series with the kinetics; its loss is r * integral(i^2) / I = r j_mean
    (1 + cov^2) with the kinetic current statistics."""
    geo = {"feature": "trench", "width": 10, "depth": 10, "pitch": 20,
           "layers": [{"role": "barrier", "material": "TiN", "thickness": "50 nm"},
                      {"role": "anode", "material": "Si", "thickness": "50 nm"},
                      {"role": "electrolyte", "material": "LiPON", "thickness": 1.0},
                      {"role": "cathode", "material": "LiCoO2", "thickness": 1.0}]}
    r = secondary(geo, "trenched_silicon", mesh={"size": 3.0, "interface_size": 1.0},
                  materials={"anode": "Si"}, current_density="0.1 mA/cm2", electrode_conduction=True)
    s = r.record["solution"]
    film = 50e-9 / (3e-6 * 100) + 50e-9 / (1e4 * 100)                    # Si then TiN, ohm m2
    assert s["film_resistance_ohm_cm2"]["anode"] == pytest.approx(film * 1e4, rel=1e-9)
    k = s["current_density_kinetic_mA_cm2"]["anode"]
    expect = film * k["mean"] * 10 * (1 + k["cov"] ** 2)
    assert s["overpotential_V"]["anode_ohmic"] == pytest.approx(expect, rel=1e-6)
    assert s["overpotential_balance_relative_error"] < 1e-6


def test_array_feature_currents_sum_to_total():
    geo = {"lattice": "square", "pitch": 20, "anode_radius": 5, "cathode_radius": 5, "height": 10}
    raw = case_dict("interdigitated_pillars", geo, domain="array", array={"nx": 2, "ny": 2},
                    physics={"model": "secondary", "current_density": "0.1 mA/cm2"},
                    mesh={"size": 4, "interface_size": 2})
    s = run(raw).record["solution"]
    for e in ("anode", "cathode"):
        total = sum(p["current_A"] for p in s["pillar_current_A"] if p["electrode"] == e)
        assert total == pytest.approx(s["current_A"], rel=1e-6)


@pytest.mark.parametrize("physics,msg", [
    ({"model": "secondary", "voltage": "0.1 V"}, "physics.voltage = 0.1: only used by the primary model"),
    ({"current_density": "1 mA/cm2"}, "physics.current_density = 1.0: only used by the secondary model"),
    ({"model": "secondary", "current_density": 1, "cell_voltage": 3}, "give either current_density"),
    ({"model": "secondary", "cell_voltage": "4.2 V"}, "physics.cell_voltage = 4.2: must lie between 0 and "
                                                      "the open-circuit voltage 3.9 V"),
])
def test_physics_errors(physics, msg):
    with pytest.raises(CaseError, match=msg.replace("(", r"\(").replace(".", r"\.")):
        load_case(case_dict("planar", physics=physics))


def test_missing_exchange_current_density():
    mats = {"anode": {"name": "my-li", "specific_capacity": "3800 mAh/g", "density": "0.5 g/cm3",
                      "potential": "0 V"}}
    with pytest.raises(CaseError, match="materials.anode.exchange_current_density: missing for 'my-li'"):
        load_case(case_dict("planar", materials=mats, physics={"model": "secondary"}))


def test_current_beyond_the_cell():
    """A pristine LTO anode (1e-13 S/cm) with electrode conduction cannot carry 0.1 mA/cm2: one clear
    error naming the key, not a failed Newton iteration."""
    raw = case_dict("planar", PLANAR, materials={"anode": "Li4Ti5O12"},
                    physics={"model": "secondary", "current_density": "0.1 mA/cm2", "electrode_conduction": True})
    with pytest.raises(CaseError, match=r"physics.current_density = 0.1: more than the cell can deliver"):
        run_case(load_case(raw))


def test_defaults_and_normalisation():
    c = load_case(case_dict("planar", physics={"model": "secondary"}))
    assert c.normalized()["physics"] == {"model": "secondary", "current_density": 0.1, "temperature": 25.0,
                                         "kinetics": "butler_volmer", "electrode_conduction": False}
    assert load_case(case_dict("planar")).normalized()["physics"] == {"model": "primary", "voltage": 0.1,
                                                                     "temperature": 25.0}


def test_cli_secondary_run_writes_report(tmp_path):
    from conftest import ROOT, cli

    r = cli("run", ROOT / "cases" / "planar_lipon_secondary.yaml", "--out", tmp_path / "o", "--no-images")
    assert r.returncode == 0, r.stderr
    assert "open-circuit / cell voltage (V)" in r.stdout and "Wagner number" in r.stdout
    html = (tmp_path / "o" / "report.html").read_text()
    for key in ("solution.cell_voltage_V", "solution.overpotential_V.cathode_kinetic", "solution.wagner_number.anode"):
        assert f'data-key="{key}"' in html


def test_coaxial_butler_volmer_in_the_tafel_regime():
    """Butler-Volmer on the coaxial cell with a sulfide electrolyte at 2 mA/cm2 of footprint (Tafel
    regime at the cathode): the
    current density is uniform on each cylinder, so the loss is I R_e + (2RT/F)[asinh(j_a/2i0a) +
    asinh(j_c/2i0c)] with j = I / A; Newton must iterate from its start and land on it."""
    a, b, h = 10e-6, 20e-6, 5e-6
    r = secondary({"inner_radius": 10, "outer_radius": 20, "height": 5}, "coaxial",
                  mesh={"size": 1.0, "interface_size": 1.0, "order": 2}, current_density="2 mA/cm2",
                  materials={"electrolyte": "Li7P3S11"})
    s = r.record["solution"]
    I = s["current_A"]
    sigma = s["electrolyte_conductivity_S_cm"] * 100
    r_e = math.log(b / a) / (2 * math.pi * sigma * h) * 4
    j = {"anode": I / (2 * math.pi * a * h / 4), "cathode": I / (2 * math.pi * b * h / 4)}
    loss = I * r_e + 2 * RT_F * sum(math.asinh(j[e] / (2 * I0[e])) for e in I0)
    assert j["cathode"] / (2 * I0["cathode"]) > 5                    # Tafel regime
    assert s["newton"]["iterations"] >= 1
    assert OCV - s["cell_voltage_V"] == pytest.approx(loss, rel=5e-3)
    eta_c = 2 * RT_F * math.asinh(j["cathode"] / (2 * I0["cathode"]))
    assert s["overpotential_V"]["cathode_kinetic"] == pytest.approx(eta_c, rel=5e-3)


def test_null_removes_another_models_key_as_the_error_advises():
    """The error for a primary key in a secondary case says ``--set physics.voltage=null``: that works."""
    from mb3d.case import apply_overrides  # noqa: PLC0415

    raw = case_dict("planar", physics={"voltage": "0.1 V"})
    with pytest.raises(CaseError, match=r"--set physics\.voltage=null"):
        load_case(apply_overrides(raw, ["physics.model=secondary", "physics.current_density=0.1 mA/cm2"]))
    case = load_case(apply_overrides(raw, ["physics.model=secondary", "physics.current_density=0.1 mA/cm2",
                                           "physics.voltage=null"]))
    assert "voltage" not in case.normalized()["physics"]
    assert case.normalized()["physics"]["current_density"] == pytest.approx(0.1)
