"""report.html: one self-contained page per run (images embedded as data URIs).

Contents: the case (normalised YAML), the headline metrics (every number as in results.json, to six
significant digits, each cell tagged with its results.json key in ``data-key``), three PyVista images
(geometry cut-away, interface current density, potential slice), an area-weighted histogram of the
normal current density on both interfaces (matplotlib) and, for designs that let light through, the
map of the projected opaque parts. If off-screen rendering is not available the report says why
instead of showing the 3D images.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import math
from typing import Any

import numpy as np
import yaml

from .pipeline import RunResult, lookup

HEADLINE = [
    ("footprint", "geometry.footprint_area_um2", "um2"),
    ("area gain, anode", "geometry.area_gain.anode", ""),
    ("area gain, cathode", "geometry.area_gain.cathode", ""),
    ("capacity per footprint", "geometry.capacity_uAh_cm2", "uAh/cm2"),
    ("energy per footprint", "geometry.energy_uWh_cm2", "uWh/cm2"),
    ("transparency", "geometry.transparency_fraction", ""),
    ("voltage", "solution.voltage_V", "V"),
    ("open-circuit voltage", "solution.ocv_V", "V"),
    ("cell voltage", "solution.cell_voltage_V", "V"),
    ("current per footprint", "solution.footprint_current_density_mA_cm2", "mA/cm2"),
    ("loss: electrolyte ohmic", "solution.overpotential_V.electrolyte_ohmic", "V"),
    ("loss: anode ohmic", "solution.overpotential_V.anode_ohmic", "V"),
    ("loss: cathode ohmic", "solution.overpotential_V.cathode_ohmic", "V"),
    ("loss: anode kinetic", "solution.overpotential_V.anode_kinetic", "V"),
    ("loss: cathode kinetic", "solution.overpotential_V.cathode_kinetic", "V"),
    ("Wagner number, anode", "solution.wagner_number.anode", ""),
    ("Wagner number, cathode", "solution.wagner_number.cathode", ""),
    ("Newton iterations", "solution.newton.iterations", ""),
    ("current", "solution.current_A", "A"),
    ("ASR", "solution.asr_ohm_cm2", "ohm cm2"),
    ("planar-equivalent ASR", "solution.planar_equivalent.asr_ohm_cm2", "ohm cm2"),
    ("ASR gain vs planar", "solution.asr_gain_vs_planar", ""),
    ("mean current density, anode", "solution.current_density_mA_cm2.anode.mean", "mA/cm2"),
    ("mean current density, cathode", "solution.current_density_mA_cm2.cathode.mean", "mA/cm2"),
    ("cov, anode", "solution.current_density_mA_cm2.anode.cov", ""),
    ("cov, cathode", "solution.current_density_mA_cm2.cathode.cov", ""),
    ("p95/p05, anode", "solution.current_density_mA_cm2.anode.p95_over_p05", ""),
    ("p95/p05, cathode", "solution.current_density_mA_cm2.cathode.p95_over_p05", ""),
    ("practical capacity (transient)", "solution.practical_capacity_uAh_cm2", "uAh/cm2"),
    ("delivered capacity, first discharge", "solution.delivered_capacity_uAh_cm2", "uAh/cm2"),
    ("delivered energy, first discharge", "solution.delivered_energy_uWh_cm2", "uWh/cm2"),
    ("utilisation", "solution.utilisation", ""),
    ("mean voltage, first discharge", "solution.mean_voltage_V", "V"),
    ("Li balance (relative)", "solution.lithium_balance_relative_error", ""),
    ("time steps", "solution.time_steps", ""),
    ("tetrahedra", "mesh.n_tetrahedra", ""),
    ("degrees of freedom", "mesh.n_dofs", ""),
    ("wall time", "timing_s.total", "s"),
]


def fmt(value: Any) -> str:
    """Six significant digits (the precision the report promises)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def histogram_png(result: RunResult) -> bytes:
    """Area-weighted histogram of the normal current density on each interface."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from geom3d.levelset import triangle_areas  # noqa: PLC0415

    f = result.fields
    area = triangle_areas(result.mesh.points_m, f.interface_tris) * 1e12
    j = f.interface_j_A_m2 * 0.1
    fig, ax = plt.subplots(figsize=(7, 3.6))
    lo, hi = np.percentile(j, [0.5, 99.5]) if len(j) else (0, 1)
    if not hi - lo > 1e-6 * max(abs(lo), abs(hi), 1e-30):   # uniform current (planar): a visible bar
        lo, hi = lo - 0.01 * abs(lo) - 1e-30, hi + 0.01 * abs(hi) + 1e-30
    for eid, name, colour in ((1, "anode", "#3b6fb6"), (2, "cathode", "#d1495b")):
        m = f.interface_electrode == eid
        if m.any():
            ax.hist(j[m], bins=50, range=(lo, hi), weights=area[m] / area[m].sum(), histtype="step",
                    linewidth=1.8, color=colour, label=name)
    ax.set_xlabel("normal current density (mA/cm2)")
    ax.set_ylabel("area fraction")
    ax.legend()
    ax.set_title("interface current density (0.5-99.5 percentile range)")
    data = _png(fig)
    plt.close(fig)
    return data


def transparency_png(result: RunResult) -> bytes | None:
    """Map of the footprint: opaque (dark) and open (light) parts, micrometres."""
    tr = result.optical
    if tr is None or tr.shadow is None or not tr.fraction:
        return None
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.patches import PathPatch  # noqa: PLC0415
    from matplotlib.path import Path as MPath  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(5, 5))
    x, y = tr.outline.exterior.xy
    ax.fill(x, y, color="#e8f4ff", label="open")
    for g in getattr(tr.shadow, "geoms", [tr.shadow]):
        if g.is_empty:
            continue
        rings = [np.asarray(g.exterior.coords)] + [np.asarray(r.coords) for r in g.interiors]
        verts = np.concatenate(rings)
        codes = np.concatenate([[MPath.MOVETO] + [MPath.LINETO] * (len(r) - 2) + [MPath.CLOSEPOLY] for r in rings])
        ax.add_patch(PathPatch(MPath(verts, codes), color="#333333"))
    ax.set_aspect("equal")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_title(f"projected opaque parts: {tr.fraction:.3f} open")
    data = _png(fig)
    plt.close(fig)
    return data


def tile_for_picture(result: RunResult, vol, ifc):
    """A unit cell's grids unfolded and repeated to a few periods (:func:`mb3d.views.tile_unit_cell`),
    so that a picture shows pillars, not a wedge of one; arrays and the planar stack (laterally
    uniform: nothing to see in more of it) as they are."""
    from .views import tile_unit_cell  # noqa: PLC0415

    geo = result.geometry
    if geo is None or geo.architecture == "planar" or geo.domain.kind != "unit_cell":
        return vol, ifc
    to_um = 1e6
    outline = [(x * to_um, y * to_um) for x, y in geo.outline_m]
    lattice = [tuple(c * to_um for c in t) for t in (result.mesh.translations_m or geo.translations_m)]
    return tile_unit_cell(vol, ifc, outline, geo.mirror_edges, lattice)


def render_images(result: RunResult) -> tuple[dict[str, bytes], str | None]:
    """The three preset images of a run (PNG bytes), or the reason they could not be made."""
    from .views import PRESETS, ViewError, grids_from_arrays, screenshot  # noqa: PLC0415

    from .views import lithiation_screenshot  # noqa: PLC0415

    mesh, f = result.mesh, result.fields
    try:
        vol, ifc = grids_from_arrays(mesh.points_m * 1e6, mesh.tets, mesh.tet_region, f.potential_V,
                                     f.interface_tris, f.interface_j_A_m2 * 0.1, f.interface_electrode,
                                     point_data=f.point_data)
        vol, ifc = tile_for_picture(result, vol, ifc)
        region_ids = {n: k for k, n in enumerate(mesh.region_names)}
        images = {}
        for preset in PRESETS:
            img = screenshot(vol, ifc, region_ids, preset)
            images[preset] = _array_png(img)
        for key, caption in lithiation_maps(result).items():
            images[key] = _array_png(lithiation_screenshot(vol, ifc, region_ids, key, caption))
        return images, None
    except ViewError as exc:
        return {}, str(exc)


def lithiation_maps(result: RunResult) -> dict[str, str]:
    """The lithiation fields of a transient run to map, with their captions: the end of each step
    (``lithiation_x_stepK``) or, for one step, the end (``lithiation_x``)."""
    pd = result.fields.point_data
    steps = result.record["solution"].get("steps") or []
    out = {}
    for k, step in enumerate(steps):
        key = f"lithiation_x_step{k + 1}"
        if key in pd:
            out[key] = f"Li fraction x at the end of step {k + 1} ({step.get('text', step['kind'])})"
    if not out and "lithiation_x" in pd:
        out["lithiation_x"] = "Li fraction x at the end" + (f" ({steps[0].get('text')})" if steps else "")
    return out


def _array_png(img: np.ndarray) -> bytes:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    buf = io.BytesIO()
    plt.imsave(buf, img, format="png")
    return buf.getvalue()


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def voltage_svg(result: RunResult, width: int = 640, height: int = 320) -> str | None:
    """The cell voltage against the charge passed per footprint (timeseries.csv of the transient model)
    as an inline SVG (no plotting library: a plain run stays light), a curve per step and rate; None
    without a time series."""
    text = getattr(result, "files", {}).get("timeseries.csv")
    if not text:
        return None
    rows = list(csv.DictReader(io.StringIO(text)))
    if len(rows) < 2:
        return None
    q = np.array([float(r["capacity_uAh_cm2"]) for r in rows])
    v = np.array([float(r["voltage_V"]) for r in rows])
    step = np.array([int(r["step"]) for r in rows])
    rates = [r.get("rate", "") for r in rows]          # one run per rate with physics.rates
    runs = {k: n for n, k in enumerate(dict.fromkeys(rates))}
    curve = np.array([runs[r] for r in rates]) * (step.max() + 1) + step
    pad = 50
    q0, q1 = float(q.min()), float(q.max()) or 1.0
    v0, v1 = float(v.min()), float(v.max())
    v0, v1 = (v0 - 0.05, v1 + 0.05) if v1 - v0 < 0.1 else (v0, v1)

    def xy(a: float, b: float) -> str:
        x = pad + (a - q0) / ((q1 - q0) or 1.0) * (width - 2 * pad)
        y = height - pad - (b - v0) / (v1 - v0) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")
    lines = [f'<polyline fill="none" stroke="{colours[k % len(colours)]}" stroke-width="1.5" points="'
             + " ".join(xy(a, b) for a, b in zip(q[curve == k], v[curve == k])) + '"/>' for k in np.unique(curve)]
    axes = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#444"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#444"/>'
            f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">charge passed (uAh/cm2): '
            f'{q0:.4g} to {q1:.4g}</text>'
            f'<text x="12" y="{height / 2}" transform="rotate(-90 12 {height / 2})" text-anchor="middle">'
            f'cell voltage (V): {v0:.3f} to {v1:.3f}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="cell voltage against capacity">{axes}{"".join(lines)}</svg>')


COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")


def _ticks(lo: float, hi: float, log: bool) -> list[float]:
    """Tick values: the decades (log axes) or about five round values (linear axes) in [lo, hi]."""
    if log:
        decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for mantissas in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            ticks = [m * 10.0 ** k for k in decades for m in mantissas if lo <= m * 10.0 ** k <= hi]
            if len(ticks) >= 3:
                return ticks
        return ticks or [lo, hi]
    step = 10 ** math.floor(math.log10((hi - lo) / 5 or 1.0))
    step *= min((m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= 6), default=10)
    return [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def svg_plot(series: list[tuple[str, list[float], list[float]]], xlabel: str, ylabel: str,
             logx: bool = False, logy: bool = False, width: int = 640, height: int = 340) -> str:
    """A line-and-marker plot as an inline SVG: ``series`` of (label, x, y), ticks and labelled axes
    (the labels carry the units), a legend. Points that cannot go on a log axis (<= 0) are left out."""
    pad_l, pad_r, pad_t, pad_b = 70, 20, 20, 50
    tf = {True: math.log10, False: float}
    pts = [(lab, [(a, b) for a, b in zip(x, y) if (a > 0 or not logx) and (b > 0 or not logy)])
           for lab, x, y in series]
    xs = [a for _, p in pts for a, _ in p] or [0.0, 1.0]
    ys = [b for _, p in pts for _, b in p] or [0.0, 1.0]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if x1 <= x0:
        x0, x1 = (x0 / 2, x1 * 2) if logx else (x0 - 1, x1 + 1)
    if y1 <= y0:
        y0, y1 = (y0 / 2, y1 * 2) if logy else (y0 - 1, y1 + 1)

    def X(a: float) -> float:
        return pad_l + (tf[logx](a) - tf[logx](x0)) / (tf[logx](x1) - tf[logx](x0)) * (width - pad_l - pad_r)

    def Y(b: float) -> float:
        return height - pad_b - (tf[logy](b) - tf[logy](y0)) / (tf[logy](y1) - tf[logy](y0)) * (height - pad_t - pad_b)

    out = [f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" stroke="#444"/>',
           f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{height - pad_b}" stroke="#444"/>']
    for t in _ticks(x0, x1, logx):
        out.append(f'<text x="{X(t):.1f}" y="{height - pad_b + 16}" text-anchor="middle" font-size="11">{t:g}</text>')
    for t in _ticks(y0, y1, logy):
        out.append(f'<text x="{pad_l - 6}" y="{Y(t) + 4:.1f}" text-anchor="end" font-size="11">{t:g}</text>')
    out.append(f'<text x="{(pad_l + width - pad_r) / 2}" y="{height - 10}" text-anchor="middle">'
               f'{html.escape(xlabel)}</text>')
    out.append(f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">'
               f'{html.escape(ylabel)}</text>')
    for k, (label, p) in enumerate(pts):
        c = COLOURS[k % len(COLOURS)]
        xy = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in p)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5" points="{xy}"/>')
        out += [f'<circle cx="{X(a):.1f}" cy="{Y(b):.1f}" r="3" fill="{c}"/>' for a, b in p]
        out.append(f'<text x="{width - pad_r - 4}" y="{pad_t + 14 * (k + 1)}" text-anchor="end" fill="{c}" '
                   f'font-size="12">{html.escape(label)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{html.escape(ylabel)} against {html.escape(xlabel)}">{"".join(out)}</svg>')


LOSS_TERMS = ("electrolyte_ohmic", "anode_ohmic", "cathode_ohmic", "anode_kinetic", "cathode_kinetic",
              "anode_diffusion", "cathode_diffusion")
LOSS_COLOURS = ("#f2c14e", "#7fa7d9", "#e58a96", "#3b6fb6", "#d1495b", "#1c3d6e", "#7d1f2c")


def losses_svg(result: RunResult, width: int = 640) -> str | None:
    """The loss breakdown at the end of discharge (transient model) as stacked horizontal bars, one
    per rate (or one), in V: what separates the open-circuit voltage at the mean lithiation from the
    cell voltage at the cut-off; None without one."""
    s = result.record["solution"]
    bars = [(k, r.get("end_of_discharge")) for k, r in (s.get("rate_capability") or {}).items()]
    if not bars and s.get("end_of_discharge"):
        bars = [("end of discharge", s["end_of_discharge"])]
    bars = [(k, b["losses_V"]) for k, b in bars if b]
    if not bars:
        return None
    pad_l, pad_r, row, top = 110, 20, 26, 30
    total = max(sum(max(v, 0.0) for v in b.values()) for _, b in bars) or 1.0
    scale = (width - pad_l - pad_r) / total
    height = top + row * len(bars) + 60
    out = []
    for n, (label, b) in enumerate(bars):
        x, y = pad_l, top + n * row
        out.append(f'<text x="{pad_l - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(label)}</text>')
        for term, colour in zip(LOSS_TERMS, LOSS_COLOURS):
            w = max(b.get(term, 0.0), 0.0) * scale
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="{colour}">'
                           f'<title>{term}: {b[term]:.4g} V</title></rect>')
                x += w
    axis_y = top + row * len(bars)
    out.append(f'<line x1="{pad_l}" y1="{axis_y}" x2="{width - pad_r}" y2="{axis_y}" stroke="#444"/>')
    for t in _ticks(0.0, total, False):
        out.append(f'<text x="{pad_l + t * scale:.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="11">{t:g}</text>')
    out.append(f'<text x="{(pad_l + width - pad_r) / 2}" y="{axis_y + 30}" text-anchor="middle">'
               "loss at the end of discharge (V)</text>")
    for k, (term, colour) in enumerate(zip(LOSS_TERMS, LOSS_COLOURS)):
        out.append(f'<rect x="{pad_l + (k % 4) * 130}" y="{axis_y + 38 + (k // 4) * 14}" width="10" height="10" '
                   f'fill="{colour}"/><text x="{pad_l + (k % 4) * 130 + 14}" y="{axis_y + 47 + (k // 4) * 14}" '
                   f'font-size="11">{term.replace("_", " ")}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 14}" role="img" '
            f'aria-label="loss breakdown at the end of discharge">{"".join(out)}</svg>')


def rate_svgs(result: RunResult) -> list[tuple[str, str]]:
    """With ``physics.rates``: the Ragone plot per footprint of the case and its planar equivalent
    (log axes) and the utilisation against the C-rate, each as (svg, caption)."""
    s = result.record["solution"]
    rc = s.get("rate_capability")
    if not rc:
        return []
    designs = [("this design", rc)]
    pe = s.get("planar_equivalent")
    if pe and not pe.get("same_as_case"):
        designs.append(("planar equivalent", pe["rate_capability"]))
    ragone = [(name, [r["mean_power_uW_cm2"] for r in t.values()], [r["energy_uWh_cm2"] for r in t.values()])
              for name, t in designs]
    util = [(name, [r["rate_C"] for r in t.values()], [r["utilisation"] for r in t.values()]) for name, t in designs]
    return [(svg_plot(ragone, "mean power per footprint (uW/cm2)", "energy per footprint (uWh/cm2)", True, True),
             "Ragone plot per footprint: energy delivered against mean power, one point per rate"),
            (svg_plot(util, "C-rate (1/h)", "utilisation (delivered / practical capacity)", logx=True),
             "Utilisation against the rate")]


def transient_figures(result: RunResult) -> list[str]:
    """The inline SVG figures of a transient run: voltage curves, Ragone and utilisation (with rates)
    and the loss breakdown at the end of discharge; none for a steady run."""
    figs = []
    curve = voltage_svg(result)
    if curve:
        figs.append(f"<figure>{curve}<figcaption>Cell voltage against the charge passed per footprint, one "
                    "colour per protocol step and rate (timeseries.csv)</figcaption></figure>")
    for svg, cap in rate_svgs(result):
        figs.append(f"<figure>{svg}<figcaption>{cap}</figcaption></figure>")
    bars = losses_svg(result)
    if bars:
        figs.append(f"<figure>{bars}<figcaption>Where the voltage goes at the end of discharge: the open-circuit "
                    "voltage at the mean lithiation minus the cell voltage, split into ohmic, kinetic and "
                    "diffusion (surface away from the mean) losses, per rate</figcaption></figure>")
    return figs


def report_html(result: RunResult, images: dict[str, bytes], note: str | None = None,
                figures: bool = True) -> str:
    """The report page as a string; ``figures`` adds the histogram and the transparency map."""
    rec = result.record
    rows = []
    for label, key, unit in HEADLINE:
        try:
            value = lookup(rec, key)
        except (KeyError, IndexError, TypeError):
            continue
        if value is None:
            continue
        rows.append(f'<tr><th>{html.escape(label)}</th><td data-key="{key}">{fmt(value)}</td>'
                    f"<td>{html.escape(unit)}</td></tr>")
    warn = ""
    if rec["solution"].get("singular_edges"):
        warn = ("<p class=warn>Sharp electrode edges: the primary current density is singular there; max, "
                "max/min and cov do not converge under refinement (current, ASR and percentiles do).</p>")
    figs = transient_figures(result)
    captions = {"geometry": "Regions (electrolyte cut away)", "current": "Normal current density on the interfaces",
                "potential": "Electrolyte potential on a slice"}
    captions.update(lithiation_maps(result))
    for name, cap in captions.items():
        if name in images:
            figs.append(f"<figure>{_img(images[name], cap)}<figcaption>{cap}</figcaption></figure>")
    if note:
        figs.append(f"<p class=warn>3D images not rendered: {html.escape(note)}</p>")
    if not figures:
        figs.append("<p>No pictures in this report: run with <code>mb3d run CASE --images</code> for the 3D "
                    "views, the current density histogram and the transparency map, or look at the run "
                    "with <code>mb3d view OUT_DIR</code>.</p>")
    else:
        figs.append(f"<figure>{_img(histogram_png(result), 'histogram')}<figcaption>Area-weighted histogram "
                    "of the normal current density</figcaption></figure>")
    tmap = transparency_png(result) if figures else None
    if tmap:
        figs.append(f"<figure>{_img(tmap, 'transparency map')}<figcaption>Projected opaque parts (dark) and "
                    "open area (light)</figcaption></figure>")
    case_yaml = yaml.safe_dump(rec["case"], sort_keys=False)
    title = f"{rec['case']['name']} ({rec['architecture']}, {rec['case']['domain']})"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mb3d: {html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left; }}
td[data-key] {{ text-align: right; font-family: monospace; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; border: 1px solid #ccc; }}
pre {{ background: #f6f6f6; padding: 1em; }} .warn {{ color: #a15c00; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>mb3d {html.escape(str(rec['mb3d_version']))}, case hash <code>{rec['case_hash'][:12]}</code>.
All numbers are those of results.json (six significant digits).</p>
{warn}
<h2>Headline metrics</h2>
<table>{''.join(rows)}</table>
<h2>Views</h2>
{''.join(figs)}
<h2>Case</h2>
<pre>{html.escape(case_yaml)}</pre>
</body></html>
"""
