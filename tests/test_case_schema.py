"""The case schema: defaults, unit conversion, normalisation round trip, hash, overrides."""
import pytest

from mb3d.case import CaseError, apply_overrides, load_case

RAW = {"name": "schema", "architecture": "interdigitated_pillars",
       "geometry": {"pitch": "0.04 mm", "anode_radius": "10000 nm", "height": 20},
       "physics": {"voltage": "100 mV", "temperature": "298.15 K"}}


def test_units_and_defaults():
    case = load_case(RAW)
    n = case.normalized()
    assert n["geometry"]["pitch"] == 40.0 and n["geometry"]["anode_radius"] == 10.0
    assert n["geometry"]["electrolyte_height"] == 20.0       # defaults to height
    assert n["geometry"]["cathode_radius"] == 10.0           # architecture default
    assert n["physics"]["voltage"] == pytest.approx(0.1) and n["physics"]["temperature"] == pytest.approx(25.0)
    assert n["mesh"]["interface_size"] == 0.5                # size / 4
    assert case.params.pitch == pytest.approx(40e-6)         # SI inside


def test_normalised_case_round_trips_with_the_same_hash():
    case = load_case(RAW)
    again = load_case(case.normalized())
    assert again.normalized() == case.normalized()
    assert again.hash() == case.hash()
    renamed = load_case(dict(case.normalized(), name="other"))
    assert renamed.hash() == case.hash()                     # the name is not physics
    changed = load_case(apply_overrides(case.normalized(), ["geometry.pitch=41"]))
    assert changed.hash() != case.hash()


def test_overrides_parse_yaml_values():
    raw = apply_overrides(RAW, ["geometry.lattice=triangular", "mesh.order=2", "physics.voltage=0.2 V",
                                "domain=array", "array.nx=3"])
    assert raw["geometry"]["lattice"] == "triangular" and raw["mesh"]["order"] == 2
    assert raw["physics"]["voltage"] == "0.2 V" and raw["array"] == {"nx": 3}
    assert RAW["geometry"].get("lattice") is None            # the input is not modified
    with pytest.raises(CaseError, match="KEY=VALUE"):
        apply_overrides(RAW, ["geometry.pitch"])
