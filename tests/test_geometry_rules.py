"""Inputs that cannot crash a run (issue 15): the geometry rules that depend on the mesh and the
domain, the robust shadow union of the transparency, one-line gmsh failures, and ``Params.box``."""
from __future__ import annotations

import math
from pathlib import Path

import gmsh
import pytest
import shapely
import yaml

from conftest import ROOT, case_dict
from geom3d import Domain, GeometryError, gmsh_session, mesh_geometry, registry
from geom3d.model import gmsh_errors
from geom3d.params import MIN_ELEMENTS_ACROSS
from geom3d.transparency import transparency
from mb3d.case import CaseError, load_case
from mb3d.pipeline import build_geometry

CASES = sorted((ROOT / "cases").glob("*.yaml"))

#: the design whose shadow union raised a GEOS TopologyException (its mirror images share vertices
#: that differ by round-off)
TOPOLOGY_REPRODUCER = dict(lattice="triangular", shape="circle", pitch=13.4395, anode_radius=2.17969,
                           cathode_radius=1.91353, height=48.8245, electrolyte_height=51.6774)

#: the array on which gmsh segfaulted in surface meshing (pillars of 0.26 um diameter, 0.93 um elements)
SEGFAULT_REPRODUCER = dict(lattice="square", pitch=13.9, anode_radius=0.13, cathode_radius=0.15, height=50)
SEGFAULT_MESH = {"size": 2.8, "interface_size": 0.93}


def pillars(geometry: dict, mesh: dict | None = None, domain: str = "unit_cell", nx: int = 3, ny: int = 2) -> dict:
    blocks = {"domain": domain, "mesh": mesh or {"size": 2.688, "interface_size": 0.896}}
    if domain == "array":
        blocks["array"] = {"nx": nx, "ny": ny}
    return case_dict("interdigitated_pillars", geometry, **blocks)


# --- transparency ----------------------------------------------------------------------------------
def test_shadow_union_survives_round_off_of_the_mirror_images():
    g = TOPOLOGY_REPRODUCER
    case = load_case(pillars(g))
    with gmsh_session():
        tr = transparency(build_geometry(case))
    p, ra, rc = g["pitch"], g["anode_radius"], g["cathode_radius"]
    shade = math.pi * rc ** 2 / 12 + math.pi * ra ** 2 / 6          # 1/12 cathode, 1/6 anode pillar
    assert tr.fraction == pytest.approx(1 - shade / (math.sqrt(3) * p * p / 8), abs=1e-6)
    assert tr.smallest_opaque_feature_m * 1e6 == pytest.approx(2 * rc, rel=1e-4)
    assert tr.largest_opaque_feature_m * 1e6 == pytest.approx(2 * ra, rel=1e-4)


def test_shadow_union_reproducer_runs_through_the_cli(tmp_path):
    from mb3d.cli import main  # noqa: PLC0415

    path = tmp_path / "topology.yaml"
    raw = pillars(TOPOLOGY_REPRODUCER, {"size": 8.0, "interface_size": 2.0})
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--no-images"]) == 0


def test_a_polygon_kernel_failure_is_one_line_naming_the_stage(monkeypatch):
    import geom3d.transparency as tmod  # noqa: PLC0415

    def broken(geo):
        raise shapely.errors.GEOSException("TopologyException: found non-noded intersection\n at 1 2")

    monkeypatch.setattr(tmod, "shadow", broken)
    case = load_case(case_dict("planar", {}))
    with gmsh_session(), pytest.raises(GeometryError) as info:
        transparency(build_geometry(case))
    message = str(info.value)
    assert message.startswith("transparency: ") and "non-noded intersection" in message
    assert "\n" not in message


# --- features the interface mesh must resolve ------------------------------------------------------
def test_the_segfaulting_pillar_array_is_refused_naming_key_value_and_rule():
    with pytest.raises(CaseError) as info:
        load_case(pillars(SEGFAULT_REPRODUCER, SEGFAULT_MESH, domain="array"))
    assert str(info.value) == ("geometry.anode_radius = 0.13: must be >= 1/2 x mesh.interface_size (0.465 um) "
                               "for the mesh to resolve the anode pillar; refine mesh.interface_size or "
                               "enlarge the anode pillar")


def test_the_segfaulting_pillar_array_exits_2(tmp_path, capsys):
    from mb3d.cli import main  # noqa: PLC0415

    path = tmp_path / "segfault.yaml"
    path.write_text(yaml.safe_dump(pillars(SEGFAULT_REPRODUCER, SEGFAULT_MESH, domain="array")))
    assert main(["validate", str(path)]) == 2
    assert "geometry.anode_radius = 0.13" in capsys.readouterr().err


def test_pillars_just_inside_the_rule_mesh():
    """Diameter 0.94 um under 0.93 um interface elements meshes (in about a second); 0.6 um made HXT
    fail and 0.26 um made gmsh segfault."""
    g = dict(SEGFAULT_REPRODUCER, anode_radius=0.47, cathode_radius=0.47)
    case = load_case(pillars(g, SEGFAULT_MESH, domain="array"))
    arch = case.architecture
    with gmsh_session():
        geo = arch.build(case.params, case.domain)
        mesh = mesh_geometry(geo, 2.8e-6, 0.93e-6)
    assert len(mesh.tets) > 1000 and mesh.min_quality > 0.1


REFUSED = [
    # (architecture, geometry, blocks, the start of the message)
    ("interdigitated_pillars", dict(pitch=10, anode_radius=4.8, cathode_radius=4.8, height=10),
     {"mesh": {"size": 2, "interface_size": 1}}, "mesh.interface_size = 1: must be <= pitch - anode_radius"),
    ("coated_pillars", dict(pitch=20, radius=0.2, height=50, electrolyte_thickness=1),
     {"mesh": {"size": 2, "interface_size": 0.5}},
     "geometry.radius = 0.2: must be >= 1/2 x mesh.interface_size"),
    ("interdigitated_plates", dict(anode_width=0.4, cathode_width=10, gap=10, height=50),
     {"mesh": {"size": 3, "interface_size": 1}},
     "geometry.anode_width = 0.4: must be >= mesh.interface_size"),
    ("interdigitated_plates", dict(anode_width=10, cathode_width=10, gap=0.5, height=50),
     {"mesh": {"size": 3, "interface_size": 1}}, "geometry.gap = 0.5: must be >= mesh.interface_size"),
    ("transparent_mesh", dict(pitch=100, line_width=0.3),
     {"mesh": {"size": 3, "interface_size": 0.5}},
     "geometry.line_width = 0.3: must be >= mesh.interface_size"),
    ("trenched_silicon", dict(width=10, depth=20, pitch=10.3),
     {"mesh": {"size": 2, "interface_size": 0.5}},
     "mesh.interface_size = 0.5: must be <= pitch - width = 0.3 um"),
    ("trenched_silicon", dict(width=5, depth=20, pitch=10),
     {"mesh": {"size": 2, "interface_size": 1}},
     "mesh.interface_size = 1: must be <= width - 2 x the stack thickness = 0.8 um"),
    ("coaxial", dict(inner_radius=0.3, outer_radius=20, height=5),
     {"mesh": {"size": 1, "interface_size": 1}},
     "geometry.inner_radius = 0.3: must be >= 1/2 x mesh.interface_size"),
    ("coaxial", dict(inner_radius=10, outer_radius=11, height=5),
     {"mesh": {"size": 1, "interface_size": 1}},
     "mesh.interface_size = 1: must be <= (outer_radius - inner_radius) / 2"),
]


@pytest.mark.parametrize("arch, geometry, blocks, start", REFUSED, ids=[f"{r[0]}-{r[3][:30]}" for r in REFUSED])
def test_unresolvable_features_are_refused_in_one_line(arch, geometry, blocks, start):
    with pytest.raises(CaseError) as info:
        load_case(case_dict(arch, geometry, **blocks))
    message = str(info.value)
    assert message.startswith(start), message
    assert "\n" not in message and ("refine mesh.interface_size" in message)


def test_array_pillars_stay_inside_the_chip():
    """Pillars wider than the half-pitch margin stuck out of the array's electrolyte box."""
    g = dict(lattice="square", pitch=40, anode_radius=24, cathode_radius=10, height=10)
    with pytest.raises(CaseError, match=r"^geometry.anode_radius = 24: must be < pitch / 2 \(20 um\) in an array"):
        load_case(pillars(g, {"size": 4, "interface_size": 1}, domain="array", nx=2, ny=2))
    load_case(pillars(g, {"size": 4, "interface_size": 1}))    # the mirror cell has no chip edge


def test_thin_layers_are_not_limited():
    """Flat and conformal layers mesh however thin: only lateral features are refused."""
    load_case(case_dict("coated_pillars", dict(pitch=20, radius=5, height=50, electrolyte_thickness=0.2),
                        mesh={"size": 4, "interface_size": 2}))
    load_case(pillars(dict(pitch=40, anode_radius=10, cathode_radius=10, height=10, electrolyte_height=10.5),
                      {"size": 2, "interface_size": 1}))
    load_case(case_dict("trenched_silicon", dict(width=10, depth=20, pitch=20),
                        mesh={"size": 2, "interface_size": 1.5}))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_committed_case_passes_the_rules(path):
    load_case(yaml.safe_load(path.read_text()))


def test_the_rule_factor():
    assert MIN_ELEMENTS_ACROSS == 1.0   # the messages and the measurements of the docstrings assume it


# --- arrays with a single electrode ----------------------------------------------------------------
@pytest.mark.parametrize("lattice, only", [("square", "anode"), ("triangular", "cathode")])
def test_a_one_pillar_array_is_refused(lattice, only):
    g = dict(lattice=lattice, pitch=40, anode_radius=10, cathode_radius=10, height=10)
    with pytest.raises(CaseError) as info:
        load_case(pillars(g, {"size": 4, "interface_size": 2}, domain="array", nx=1, ny=1))
    assert str(info.value).startswith(f"array.nx = 1: an array of nx x ny = 1 x 1 {lattice}-lattice sites "
                                      f"holds only one {only} pillar")
    for nx, ny in ((2, 1), (1, 2)):
        load_case(pillars(g, {"size": 4, "interface_size": 2}, domain="array", nx=nx, ny=ny))


@pytest.mark.parametrize("arch, geometry", [("coated_pillars", {}), ("trenched_silicon", {"feature": "pore"}),
                                            ("trenched_silicon", {"feature": "trench"}), ("transparent_mesh", {}),
                                            ("interdigitated_plates", {"n_pairs": 1})])
def test_other_one_by_one_arrays_have_both_interfaces(arch, geometry):
    case = load_case(case_dict(arch, geometry, domain="array", array={"nx": 1, "ny": 1},
                               mesh={"size": 4, "interface_size": 0.5}))
    with gmsh_session():
        geo = build_geometry(case)
        assert all(geo.interfaces[e] for e in ("anode", "cathode"))


# --- gmsh failures -----------------------------------------------------------------------------------
def test_an_empty_gmsh_exception_quotes_the_logged_error():
    with gmsh_session(), pytest.raises(GeometryError) as info:
        with gmsh_errors("gmsh could not mesh the geometry", "try a smaller mesh.size"):
            gmsh.logger.write("Invalid boundary mesh (overlapping facets)\non surface 7", level="error")
            raise Exception("")
    assert str(info.value) == ("gmsh could not mesh the geometry: Invalid boundary mesh (overlapping facets) "
                               "on surface 7")


def test_an_empty_gmsh_exception_without_a_log_gives_advice():
    with gmsh_session():
        try:   # an older error is not quoted for a later failure
            gmsh.model.occ.fragment([(3, 99)], [(3, 100)])
        except Exception:  # noqa: BLE001
            pass
        with pytest.raises(GeometryError) as info:
            with gmsh_errors("gmsh could not mesh the geometry", "try a smaller mesh.interface_size or mesh.size"):
                raise Exception("")
    assert str(info.value) == ("gmsh could not mesh the geometry (gmsh gave no reason): try a smaller "
                               "mesh.interface_size or mesh.size")


# --- the size of the modelled domain -------------------------------------------------------------------
def meshed_volume(path: Path) -> tuple[float, float]:
    """(footprint x height of Params.box, the volume of every meshed region), m^3."""
    case = load_case(yaml.safe_load(path.read_text()))
    footprint, height = case.params.box(case.domain)
    if case.architecture.implicit:
        built = case.architecture.build(case.params, case.domain, size=case.model.mesh.size * 1e-6,
                                        interface_size=case.interface_size_um * 1e-6)
        return footprint * height, sum(built.metrics.volume_m3.values())
    with gmsh_session():
        geo = build_geometry(case)
        volume = sum(gmsh.model.occ.getMass(3, t) for vols in geo.regions.values() for t in vols)
    return footprint * height, volume * 1e-18


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_box_is_the_meshed_volume(path):
    """Every model fills the prism of its footprint (pillars, walls and films inside the electrolyte or
    the fill; the sponge's lattice fills its block), and the grids' lines, which do not, are counted
    line by line: the box is the meshed volume to round-off (measured: within 1e-9 on every case)."""
    if "sponge" in path.stem and path.stem != "sponge_gyroid_secondary":
        pytest.skip("the sponge's box is tested on its smallest case (each build meshes the block)")
    box, volume = meshed_volume(path)
    assert box / volume == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("feature", ["trench", "pore"])
@pytest.mark.parametrize("domain", [Domain(), Domain("array", 2, 1)])
def test_box_leaves_out_the_void_of_an_unfilled_etch(feature, domain):
    arch = registry.get("trenched_silicon")
    p = arch.params(feature=feature, width=10e-6, depth=8e-6, pitch=16e-6, fill="void")
    footprint, height = p.box(domain)
    with gmsh_session():
        geo = arch.build(p, domain, thin_layer_limit=0.1e-6)
        volume = sum(gmsh.model.occ.getMass(3, t) for vols in geo.regions.values() for t in vols) * 1e-18
    assert footprint == pytest.approx(geo.footprint_area_m2, rel=1e-12)
    assert footprint * height / volume == pytest.approx(1.0, abs=1e-6)
    assert p.void_volume(domain) > 0.05 * volume       # the void is not negligible (9 % of a pore cell)


@pytest.mark.parametrize("name", sorted(registry.ARCHITECTURES))
def test_every_architecture_has_a_box(name):
    arch = registry.get(name)
    footprint, height = arch.params().box(Domain())
    assert footprint > 0 and height > 0


def test_a_failing_opencascade_call_in_a_build_is_one_line():
    from geom3d.registry import _guarded  # noqa: PLC0415

    def build(params, domain):
        gmsh.model.occ.fragment([(3, 99)], [(3, 100)])

    def buggy(params, domain):
        raise TypeError("a bug stays a bug")

    with gmsh_session():
        with pytest.raises(GeometryError, match=r"^gmsh could not build the demo geometry: Unknown OpenCASCADE "
                                                r"entity of dimension 3 with tag 99$"):
            _guarded(build, "demo")(None, Domain())
        with pytest.raises(TypeError):
            _guarded(buggy, "demo")(None, Domain())
