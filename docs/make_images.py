"""Render the documentation's images from cases in cases/ (``make images``).

Each entry of IMAGES runs a case in memory (mb3d.pipeline.run_case) and writes one preset off screen
to docs/images/. Each entry of TUTORIALS runs a tutorial's case and writes one of the pictures of its
report.html (mb3d.report.render_images: unit cells repeated to a few periods), as `mb3d run` shows them. The images are deterministic in size (mb3d.views.WINDOW). DISCHARGE runs three cells
with the same practical capacity per footprint (325.6 uAh/cm2 of LiCoO2) at 1C and plots their
voltage against delivered capacity (matplotlib): the planar film, the demo pillar cell and a slim
pillar cell (about 3 minutes on 2 cores). RAGONE runs the cases of
studies/pillars_vs_planar_ragone.yaml (its base case at three pitches, each with its planar
equivalent) and plots energy against power per footprint and the energy ratio at equal C-rate.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mb3d import views  # noqa: E402
from mb3d.case import load_case_file  # noqa: E402
from mb3d.pipeline import run_case  # noqa: E402

IMAGES = [
    ("interdigitated_pillars_square.yaml", "geometry", "pillars_geometry.png"),
    ("trenched_silicon_trench.yaml", "current", "trench_current.png"),
    ("sponge_gyroid.yaml", "geometry", "gyroid_geometry.png"),
]

#: the tutorials' pictures: case file, report picture (preset), image name
TUTORIALS = [
    ("planar_lipon.yaml", "potential", "planar_potential.png"),
    ("interdigitated_pillars_square.yaml", "current", "pillars_current.png"),
    ("interdigitated_plates.yaml", "current", "plates_current.png"),
    ("coated_pillars_square.yaml", "current", "coated_pillars_current.png"),
    ("sponge_gyroid.yaml", "current", "sponge_current.png"),
    ("transparent_mesh_offset.yaml", "current", "transparent_mesh_current.png"),
    ("coaxial_check.yaml", "potential", "coaxial_potential.png"),
]


#: label, case file, overrides: the same LiCoO2 volume per footprint, pi r^2 h / (2 p^2) = 4.909 um
DISCHARGE = [
    ("planar film, 4.9 um LiCoO2", "planar_lipon_transient.yaml",
     {"geometry.cathode_thickness": 4.9087385, "geometry.anode_thickness": 3.0,
      "physics.protocol": ["Discharge at 1C until 3.0 V"], "mesh.size": 0.5, "mesh.interface_size": 0.2}),
    ("demo pillars, r = 10 um, pitch 40 um", "interdigitated_pillars_transient.yaml", {}),
    ("slim pillars, r = 2 um, pitch 8 um", "interdigitated_pillars_transient.yaml",
     {"geometry.pitch": 8, "geometry.anode_radius": 2, "geometry.cathode_radius": 2,
      "mesh.size": 1.5, "mesh.interface_size": 0.5}),
]


def discharge_curves(path: Path) -> None:
    """Voltage against delivered capacity at 1C of the DISCHARGE cells, one PNG."""
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, case_file, sets in DISCHARGE:
        case = load_case_file(ROOT / "cases" / case_file)
        res = run_case(case.with_(**sets) if sets else case)
        rows = list(csv.DictReader(io.StringIO(res.files["timeseries.csv"])))
        q = [float(r["capacity_uAh_cm2"]) for r in rows]
        v = [float(r["voltage_V"]) for r in rows]
        s = res.record["solution"]
        ax.plot(q, v, label=f"{label}: {s['delivered_capacity_uAh_cm2']:.0f} uAh/cm2, "
                            f"{s['delivered_energy_uWh_cm2']:.0f} uWh/cm2")
        print(f"  {label}: {s['delivered_capacity_uAh_cm2']:.1f} of {s['practical_capacity_uAh_cm2']:.1f} uAh/cm2")
    ax.set_xlabel("delivered capacity per footprint (uAh/cm2)")
    ax.set_ylabel("cell voltage (V)")
    ax.set_title("Li | LiPON | LiCoO2 at 1C (325.6 uAh/cm2 stored in each)", fontsize=10)
    ax.set_xlim(0, 330)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


#: the pitches of studies/pillars_vs_planar_ragone.yaml (its base case, cases/interdigitated_pillars_ragone.yaml)
RAGONE_PITCHES_UM = (5, 8, 12)


def ragone_study(path: Path) -> None:
    """The Ragone plot of the pillar study against its planar equivalent, and the energy ratio at
    equal C-rate against the C-rate, one PNG with two panels."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    base = load_case_file(ROOT / "cases" / "interdigitated_pillars_ragone.yaml")
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.0, 4.0), dpi=120)
    planar = None
    for pitch in RAGONE_PITCHES_UM:
        rec = run_case(base.with_(**{"geometry.pitch": pitch})).record
        s, gain = rec["solution"], rec["geometry"]["area_gain"]["cathode"]
        rc, pe = s["rate_capability"], s["planar_equivalent"]
        planar = pe
        line, = ax.loglog([r["mean_power_uW_cm2"] for r in rc.values()], [r["energy_uWh_cm2"] for r in rc.values()],
                          "o-", label=f"pillars, pitch {pitch} um (area gain {gain:.2f})")
        rates = [r["rate_C"] for r in rc.values()]
        bx.semilogx(rates, list(pe["energy_ratio_at_equal_rate"].values()), "o-", color=line.get_color(),
                    label=f"pitch {pitch} um")
        bx.axhline(gain, color=line.get_color(), ls=":", lw=1)
        print(f"  pitch {pitch}: ratio at equal rate {[round(v, 3) for v in pe['energy_ratio_at_equal_rate'].values()]}")
    g = planar["geometry"]
    prc = planar["rate_capability"]
    ax.loglog([r["mean_power_uW_cm2"] for r in prc.values()], [r["energy_uWh_cm2"] for r in prc.values()], "s--",
              color="k", label=f"planar: {g['cathode_thickness_um']:.0f} um LiCoO2, "
                                f"{g['electrolyte_thickness_um']:.0f} um LiPON")
    ax.set_xlabel("mean power per footprint (uW/cm2)")
    ax.set_ylabel("energy per footprint (uWh/cm2)")
    ax.set_title("Li | LiPON | LiCoO2 pillars (r 2 um, 20 um tall), C/10 to 10C", fontsize=10)
    bx.set_xlabel("C-rate (1/h, each cell's own 1C)")
    bx.set_ylabel("energy / planar energy at the same C-rate (-)")
    bx.set_title("dotted: area gain (the ratio at vanishing rate)", fontsize=10)
    for a in (ax, bx):
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_small_png(path: Path, png: bytes) -> None:
    """Write a picture with a 256-colour palette (a third of the size; the pictures are shaded
    colour maps, which a palette keeps)."""
    import io  # noqa: PLC0415

    from PIL import Image  # noqa: PLC0415  (matplotlib's dependency)

    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    """Render every image, or only those named: geometry, current, tutorials, discharge, ragone
    (``python docs/make_images.py ragone``)."""
    only = set(argv if argv is not None else sys.argv[1:])
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    for case_file, preset, name in IMAGES:
        if only and preset not in only:
            continue
        case = load_case_file(ROOT / "cases" / case_file)
        res = run_case(case)
        m, f = res.mesh, res.fields
        vol, ifc = views.grids_from_arrays(m.points_m * 1e6, m.tets, m.tet_region, f.potential_V,
                                           f.interface_tris, f.interface_j_A_m2 * 0.1, f.interface_electrode)
        views.screenshot(vol, ifc, {n: k for k, n in enumerate(m.region_names)}, preset, out / name,
                         title=f"{case.name}: {preset}")
        print(f"wrote docs/images/{name} ({case_file}, {preset})")
    if not only or "tutorials" in only:
        from mb3d.report import render_images  # noqa: PLC0415

        for case_file, preset, name in TUTORIALS:
            pictures, note = render_images(run_case(load_case_file(ROOT / "cases" / case_file)))
            if note:
                raise SystemExit(f"{case_file}: no pictures: {note}")
            _write_small_png(out / name, pictures[preset])
            print(f"wrote docs/images/{name} ({case_file}, {preset} picture of report.html)")
    for key, func, name in [("discharge", discharge_curves, "discharge_pillars_vs_planar.png"),
                            ("ragone", ragone_study, "ragone_pillars_vs_planar.png")]:
        if not only or key in only:
            func(out / name)
            print(f"wrote docs/images/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
