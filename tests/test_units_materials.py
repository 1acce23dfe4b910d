"""Units (pint) and the materials library."""
import dataclasses
import math

import numpy as np
import pytest

from solvers import ocp
from solvers.constants import FARADAY, K_B
from solvers.materials import PROPERTIES, library, resolve
from solvers.units import QuantityError, from_si, to_si


@pytest.mark.parametrize("value,unit,si", [
    (40, "um", 40e-6), ("500 nm", "um", 5e-7), ("0.2 mm", "um", 2e-4), ("2.3 uS/cm", "S/cm", 2.3e-4),
    ("0.1 mA/cm2", "mA/cm2", 1.0), ("1 mA/cm^2", "mA/cm2", 10.0), ("25 degC", "degC", 298.15),
    (25, "degC", 298.15), ("300 K", "degC", 300.0), ("0.35 eV", "eV", 0.35 * 1.602176634e-19),
    ("40 µm", "um", 40e-6), ("5.05 g/cm3", "g/cm3", 5050.0), ("140 mAh/g", "mAh/g", 504000.0),
])
def test_to_si(value, unit, si):
    assert to_si(value, unit, "k") == pytest.approx(si, rel=1e-12)


def test_molar_activation_energy():
    ea = to_si("17 kJ/mol", "eV", "k", alt=("kJ/mol",))
    assert ea == pytest.approx(17e3 / 6.02214076e23, rel=1e-12)


@pytest.mark.parametrize("bad", ["40 V", "forty", "1 S/cm", True, None, [1]])
def test_to_si_rejects(bad):
    with pytest.raises(QuantityError) as e:
        to_si(bad, "um", "geometry.pitch")
    assert str(e.value).startswith("geometry.pitch = ")


def test_library_has_the_review_materials_with_sources():
    lib = library()
    for name in ("LiPON", "Li7P3S11", "Li10GeP2S12", "LLZO-Nb", "LLTO", "LAGP",
                 "Li", "Si", "Li4Ti5O12", "LiCoO2", "NMC111", "NCA", "LiFePO4", "V2O5"):
        assert name in lib, name
    for m in lib.values():
        for prop in m.sources:
            assert m.sources[prop].strip(), (m.name, prop)
        if m.kind == "electrolyte":
            assert m.props["conductivity"] > 0 and "conductivity" in m.sources
        if m.kind == "electrode":
            for prop in ("specific_capacity", "density", "potential"):
                assert prop in m.sources, (m.name, prop)
    # values stated in the review
    assert lib["LiPON"].display()["conductivity"] == pytest.approx(2.3e-6)
    assert lib["Li7P3S11"].display()["conductivity"] == pytest.approx(17e-3)
    assert lib["LiCoO2"].display()["theoretical_capacity"] == pytest.approx(273)
    assert lib["Li4Ti5O12"].display()["theoretical_capacity"] == pytest.approx(175)


def test_display_keeps_small_values_and_round_trips():
    """display() rounds to significant digits: Li4Ti5O12's 1e-13 S/cm electronic conductivity was shown
    as 0 when it rounded to 12 decimal places."""
    lib = library()
    lto = lib["Li4Ti5O12"].display()["electronic_conductivity"]
    assert lto != 0
    assert lto == pytest.approx(1e-13, rel=1e-9)          # the library value (materials.yaml), S/cm
    assert lto == pytest.approx(from_si(lib["Li4Ti5O12"].props["electronic_conductivity"], "S/cm"), rel=1e-9)
    for m in lib.values():
        shown = m.display()
        assert set(shown) == set(m.props) | set(m.extras), m.name
        for prop, value in shown.items():
            if prop in m.extras:
                continue
            unit = PROPERTIES[m.kind][prop].unit or "dimensionless"
            si = m.props[prop]
            assert to_si(value, unit, prop) == pytest.approx(si, rel=1e-11, abs=0), (m.name, prop)
            assert value == pytest.approx(from_si(si, unit), rel=1e-11, abs=0), (m.name, prop)
        if m.kind == "electrode":   # the non-numeric ones as a case file writes them, and back
            again = resolve({"base": m.name, **{k: shown[k] for k in m.extras}}, "cathode", "materials.cathode")
            assert again.extras == m.extras, m.name


def test_arrhenius():
    m = library()["Li7P3S11"]
    ea = m.props["activation_energy"]
    t = 353.15
    expected = m.props["conductivity"] * math.exp(-ea / 1.380649e-23 * (1 / t - 1 / 298.15))
    assert m.conductivity_at(t) == pytest.approx(expected, rel=1e-12)
    assert m.conductivity_at(298.15) == pytest.approx(m.props["conductivity"], rel=1e-12)


def test_resolve_override_and_new():
    m = resolve({"base": "LiPON", "conductivity": "3 uS/cm"}, "electrolyte", "materials.electrolyte")
    assert m.props["conductivity"] == pytest.approx(3e-4)
    assert m.props["activation_energy"] == library()["LiPON"].props["activation_energy"]
    assert m.sources["conductivity"] == "case file"
    n = resolve({"name": "glass", "conductivity": "1 mS/cm", "activation_energy": "0.3 eV"},
                "electrolyte", "materials.electrolyte")
    assert n.props["reference_temperature"] == pytest.approx(298.15)
    with pytest.raises(QuantityError, match="required"):
        resolve({"name": "x"}, "electrolyte", "materials.electrolyte")
    with pytest.raises(QuantityError, match="unknown electrolyte property"):
        resolve({"base": "LiPON", "colour": 1}, "electrolyte", "materials.electrolyte")
    with pytest.raises(QuantityError, match="unknown electrode"):
        resolve("LiPON", "anode", "materials.anode")
    assert set(PROPERTIES["electrode"]) >= {"exchange_current_density", "alpha_anodic"}


# --- transient-model properties (issue 18) ---------------------------------------------------------
INTERCALATION = ("Si", "Li4Ti5O12", "LiCoO2", "NMC111", "NCA", "LiFePO4", "V2O5", "LiMn2O4")


def test_every_intercalation_electrode_has_the_transient_data():
    lib = library()
    electrodes = [m for m in lib.values() if m.kind == "electrode"]
    assert {m.name for m in electrodes if not m.reservoir} == set(INTERCALATION)
    for m in electrodes:
        if m.reservoir:
            continue
        for prop in ("max_concentration", "diffusivity", "ocp", "stoichiometry"):
            assert m.sources.get(prop, "").strip(), (m.name, prop)
        assert isinstance(m.ocp, ocp.OCP) and m.ocp is ocp.CURVES[m.display()["ocp"]]
        x_charged, x_discharged = m.stoichiometry
        lo, hi = m.ocp.x_range
        assert lo <= min(m.stoichiometry) and max(m.stoichiometry) <= hi, m.name   # window inside the fit
        # discharge moves Li into the cathode (x rises) and out of the anode (x falls), and lowers the
        # cathode's / raises the anode's potential
        cathode = m.info["role"] == "cathode"
        assert (x_discharged > x_charged) == cathode, m.name
        assert m.ocp(x_charged) != m.ocp(x_discharged)
        assert 0 < m["max_concentration"] <= 1e6 and 1e-24 <= m["diffusivity"] <= 1e-6
        # c_max |dx| F is the practical capacity within 25 % (NMC111 and NCA: the library's capacities are
        # upper bounds at 4.3-4.6 V, their windows end at 4.2 V)
        held = m["max_concentration"] * abs(x_discharged - x_charged) * FARADAY
        practical = m["specific_capacity"] * m["density"]
        assert 0.75 < held / practical < 1.05, (m.name, held / practical)
    li = lib["Li"]
    assert li.reservoir is True and li.display()["reservoir"] is True
    assert li.ocp is None and li.stoichiometry is None and "diffusivity" not in li.props
    assert lib["LiCoO2"].reservoir is False


def test_library_values_of_the_transient_model():
    """Values as sourced in materials.yaml (thin-film Danilov 2011 D; c_max of the OCP curve's scale)."""
    lco = library()["LiCoO2"]
    assert lco["max_concentration"] == pytest.approx(51555)
    assert lco["diffusivity"] == pytest.approx(1.76e-15)
    assert lco["diffusivity_activation_energy"] == pytest.approx(18.55e3 / 6.02214076e23)
    assert lco.ocp.name == "LiCoO2_Ramadass2004" and lco.stoichiometry == (0.51, 0.99)
    lfp = library()["LiFePO4"]
    assert lfp["max_concentration"] == pytest.approx(22806) and lfp["diffusivity"] == pytest.approx(5.9e-18)
    assert lfp["diffusivity_activation_energy"] == 0     # default: none sourced
    # derived values: n x density / molar mass
    assert library()["LiMn2O4"]["max_concentration"] == pytest.approx(4280 / 0.18081, rel=1e-3)
    assert library()["Li4Ti5O12"]["max_concentration"] == pytest.approx(3 * 3480 / 0.459087, rel=1e-3)
    assert library()["V2O5"]["max_concentration"] == pytest.approx(2 * 3350 / 0.181878, rel=1e-3)


def test_diffusivity_arrhenius():
    m = library()["LiCoO2"]
    ea, d = m["diffusivity_activation_energy"], m["diffusivity"]
    assert m.diffusivity_at(298.15) == pytest.approx(d, rel=1e-14)
    t = 333.15
    assert m.diffusivity_at(t) == pytest.approx(d * math.exp(-ea / K_B * (1 / t - 1 / 298.15)), rel=1e-12)
    assert m.diffusivity_at(t) > d
    assert library()["LiFePO4"].diffusivity_at(t) == pytest.approx(library()["LiFePO4"]["diffusivity"])
    with pytest.raises(KeyError, match="Li has no diffusivity"):
        library()["Li"].diffusivity_at(300)
    with pytest.raises(ValueError, match="temperature_K"):
        m.diffusivity_at(-1)


def test_material_is_frozen_and_indexable():
    m = library()["LiCoO2"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.extras = {}
    assert m["ocp"] is m.ocp and m["stoichiometry"] == m.stoichiometry
    with pytest.raises(KeyError):
        m["colour"]


def test_case_overrides_convert_to_si_and_display_in_case_units():
    table = {"x": [0.5, 0.7, 0.9, 1.0], "U": [4.2, 3.95, 3.88, 3.5]}
    m = resolve({"base": "LiCoO2", "ocp": table, "diffusivity": "1e-10 cm2/s",
                 "max_concentration": "23.3 mol/L", "diffusivity_activation_energy": "20 kJ/mol",
                 "stoichiometry": [0.55, 0.95]}, "cathode", "materials.cathode")
    assert m["diffusivity"] == pytest.approx(1e-14, rel=1e-12)                 # cm2/s -> m2/s
    assert m["max_concentration"] == pytest.approx(23300, rel=1e-12)           # mol/L -> mol/m3
    assert m["diffusivity_activation_energy"] == pytest.approx(20e3 / 6.02214076e23, rel=1e-12)
    assert m.stoichiometry == (0.55, 0.95)
    assert m.ocp.table == (tuple(table["x"]), tuple(table["U"])) and m.ocp(0.7) == pytest.approx(3.95)
    assert m.ocp.source == "case file"
    for k in ("ocp", "diffusivity", "max_concentration", "stoichiometry"):
        assert m.sources[k] == "case file"
    assert m.sources["density"] == library()["LiCoO2"].sources["density"]     # the rest: the library's
    shown = m.display()
    assert shown["diffusivity"] == pytest.approx(1e-14, rel=1e-11)             # m2/s
    assert shown["max_concentration"] == pytest.approx(23300, rel=1e-11)       # mol/m3
    assert shown["diffusivity_activation_energy"] == pytest.approx(0.207285393, rel=1e-8)   # eV
    assert shown["ocp"] == table and shown["stoichiometry"] == [0.55, 0.95] and shown["reservoir"] is False
    # a bare number is read in the case unit; a library curve by name
    n = resolve({"base": "LiCoO2", "diffusivity": 3e-15, "ocp": "LiCoO2_Raijmakers2020"}, "cathode", "c")
    assert n["diffusivity"] == 3e-15 and n.ocp is ocp.CURVES["LiCoO2_Raijmakers2020"]
    assert n.display()["ocp"] == "LiCoO2_Raijmakers2020"
    # a new material gets the defaults, and no transient data unless given
    new = resolve({"name": "film", "specific_capacity": 100, "density": 4, "potential": 3.8}, "cathode", "c")
    assert new.ocp is None and new.reservoir is False and new["diffusivity_activation_energy"] == 0
    res = resolve({"name": "Li-film", "specific_capacity": 3861, "density": 0.534, "potential": 0,
                   "reservoir": True}, "anode", "materials.anode")
    assert res.reservoir and res.sources["reservoir"] == "case file"


@pytest.mark.parametrize("change,message", [
    ({"ocp": "LiCoO3"}, "materials.cathode.ocp = 'LiCoO3': unknown curve; known: LiCoO2_Ramadass2004, "),
    ({"ocp": 4.1}, ("materials.cathode.ocp = 4.1: must be a curve name (mb3d materials) or a table "
                   "{x: [...], U: [...]}")),
    ({"ocp": {"x": [0.5, 0.9], "U": [4.2, 4.2]}}, ("materials.cathode.ocp.U = [4.2, 4.2]: must be strictly "
                                                   "monotone in x")),
    ({"ocp": {"x": [0.5, 0.7, 0.9], "U": [4.2, 3.9, 4.0]}}, ("materials.cathode.ocp.U = [4.2, 3.9, 4.0]: must "
                                                           "be strictly monotone in x")),
    ({"ocp": {"x": [0.5, 1.2], "U": [4.2, 3.9]}}, ("materials.cathode.ocp.x = [0.5, 1.2]: must lie within "
                                                  "[0, 1] (the Li fraction c/c_max)")),
    ({"ocp": {"x": [0.9, 0.5], "U": [3.9, 4.2]}}, ("materials.cathode.ocp.x = [0.9, 0.5]: must be strictly "
                                                  "increasing")),
    ({"ocp": {"x": [0.5], "U": [4.2]}}, "materials.cathode.ocp.x = [0.5]: needs at least 2 points"),
    ({"ocp": {"x": [0.5, 0.9], "U": [4.2]}}, "materials.cathode.ocp.U = [4.2]: must have as many values as x (2)"),
    ({"ocp": {"x": [0.5, 0.9]}}, "materials.cathode.ocp.U = None: required in an ocp table {x: [...], U: [...]}"),
    ({"ocp": {"x": [0.5, 0.9], "U": [4.2, 3.9], "T": 25}}, ("materials.cathode.ocp.T = 25: unknown key of an "
                                                           "ocp table (allowed: x, U)")),
    ({"ocp": {"x": [0.5, 0.9], "U": [4.2, "3.9 m"]}}, "materials.cathode.ocp.U[1] = '3.9 m': wrong dimension"),
    ({"ocp": {"x": [0.5, 0.9], "U": [42, 3.9]}}, "materials.cathode.ocp.U = [42, 3.9]: must lie within [-1, 6] V"),
    ({"ocp": {"x": "0.5", "U": [4.2, 3.9]}}, "materials.cathode.ocp.x = '0.5': must be a list of numbers"),
    ({"stoichiometry": [0.5, 0.5]}, ("materials.cathode.stoichiometry = [0.5, 0.5]: x at full charge and x at "
                                    "full discharge must differ")),
    ({"stoichiometry": [0.5, 1.5]}, ("materials.cathode.stoichiometry = [0.5, 1.5]: must be [x at full charge, "
                                    "x at full discharge]: two different numbers in [0, 1]")),
    ({"stoichiometry": 0.5}, "materials.cathode.stoichiometry = 0.5: must be [x at full charge"),
    ({"reservoir": "yes"}, "materials.cathode.reservoir = 'yes': must be true or false"),
    ({"reservoir": 1}, "materials.cathode.reservoir = 1: must be true or false"),
    ({"diffusivity": "1e-10 cm2"}, ("materials.cathode.diffusivity = '1e-10 cm2': wrong dimension: expected a "
                                   "quantity in m2/s")),
    ({"diffusivity": 1.0}, "materials.cathode.diffusivity = 1.0: must be in [1e-24, 1e-6] m2/s"),
    ({"max_concentration": 0}, "materials.cathode.max_concentration = 0: must be in (0, 1e6] mol/m3"),
    ({"diffusivity_activation_energy": "3 eV"}, ("materials.cathode.diffusivity_activation_energy = '3 eV': "
                                                "must be in [0, 2] eV")),
])
def test_transient_properties_are_checked_in_one_line(change, message):
    with pytest.raises(QuantityError) as e:
        resolve({"base": "LiCoO2", **change}, "cathode", "materials.cathode")
    text = str(e.value)
    assert "\n" not in text and text.startswith(message), text
    assert e.value.key.startswith("materials.cathode.")


def test_non_numeric_properties_in_the_reference_table():
    """mb3d.reference reads unit, default, rule() and doc of every property."""
    for name in ("ocp", "stoichiometry", "reservoir"):
        p = PROPERTIES["electrode"][name]
        assert not p.numeric and p.unit == "" and p.rule() and "|" not in p.rule() and p.doc
    assert "LiCoO2_Ramadass2004" in PROPERTIES["electrode"]["ocp"].rule()
    assert PROPERTIES["electrode"]["reservoir"].default is False
    assert PROPERTIES["electrode"]["diffusivity"].rule() == "in [1e-24, 1e-6] m2/s"
    assert all(p.numeric for kind in ("electrolyte", "other") for p in PROPERTIES[kind].values())
    assert np.isfinite([c(0.5 * sum(c.x_range)) for c in ocp.CURVES.values()]).all()
