"""Render the README's images from cases in cases/ (``make images``).

Each entry runs a case in memory (mb3d.pipeline.run_case) and writes one preset off screen to
docs/images/. The images are deterministic in size (mb3d.views.WINDOW).
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
