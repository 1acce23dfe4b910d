"""Units (pint) and the materials library."""
import math

import pytest

from solvers.materials import PROPERTIES, library, resolve
from solvers.units import QuantityError, to_si


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
