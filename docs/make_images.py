"""Render the README's images from cases in cases/ (``make images``).

Each entry of IMAGES runs a case in memory (mb3d.pipeline.run_case) and writes one preset off screen
to docs/images/. The images are deterministic in size (mb3d.views.WINDOW). DISCHARGE runs three cells
with the same practical capacity per footprint (325.6 uAh/cm2 of LiCoO2) at 1C and plots their
voltage against delivered capacity (matplotlib): the planar film, the demo pillar cell and a slim
pillar cell (about 3 minutes on 2 cores).
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


def main() -> int:
    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    for case_file, preset, name in IMAGES:
        case = load_case_file(ROOT / "cases" / case_file)
        res = run_case(case)
        m, f = res.mesh, res.fields
        vol, ifc = views.grids_from_arrays(m.points_m * 1e6, m.tets, m.tet_region, f.potential_V,
                                           f.interface_tris, f.interface_j_A_m2 * 0.1, f.interface_electrode)
        views.screenshot(vol, ifc, {n: k for k, n in enumerate(m.region_names)}, preset, out / name,
                         title=f"{case.name}: {preset}")
        print(f"wrote docs/images/{name} ({case_file}, {preset})")
    discharge_curves(out / "discharge_pillars_vs_planar.png")
    print("wrote docs/images/discharge_pillars_vs_planar.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
