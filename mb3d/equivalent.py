"""The planar equivalent of a design (issue 19): what the same materials deliver as a planar stack.

The equivalent is a ``planar`` unit cell with

* the same electrolyte, anode and cathode materials (passive layers such as barriers and
  collectors are left out: they store no Li);
* each electrode's film thickness = its volume per footprint in the design (``films: same_volume``,
  the default: it stores the same charge per footprint; collapsed films count with their exact
  volume), or its volume per interface area (``films: same_diffusion_length``: r / 2 for a
  cylinder of radius r, the thickness for a conformal film; the film holds the design's charge per
  interface area, so a C-rate loads both interfaces alike on average and Li crosses comparable
  lengths, while the design holds its area gain times the planar film's charge: the comparison of
  the 3D microbattery literature);
* the electrolyte thickness = the design's smallest anode-cathode distance, measured between the
  nodes of the two interfaces of its mesh (:func:`interelectrode_distance_m`): the shortest ionic
  path the design offers, hence the planar cell a designer would build with the same deposition
  limits;
* any of the three film thicknesses a case gives instead (``physics.planar_equivalent:
  {electrolyte_thickness: 1, cathode_thickness: 2}``, um): the planar cell as a designer would
  deposit it (a 1 um LiPON film, say), rather than one derived from the design;
* the same physics block (protocol, rates, kinetics, temperature) without the ``planar_equivalent``
  key, and a mesh of P2 elements with eight through the thinnest film (a planar cell is
  one-dimensional: its lateral width is one element).

For a ``planar`` case the equivalent is the case itself (:func:`planar_equivalent_case` maps it to
the same geometry; the model then reports the case's own results and ratios of exactly 1).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from solvers.names import ELECTRODES, interface_name

from .case import Case, load_case

__all__ = ["interelectrode_distance_m", "planar_equivalent_case", "ragone_ratio"]

#: the thinnest film (um) spans this many P2 elements in the equivalent's mesh
ELEMENTS_ACROSS = 8


def interelectrode_distance_m(mesh: Any) -> float:
    """Smallest distance (m) between a node of the anode interface and a node of the cathode
    interface of a mesh (exact for flat parallel interfaces; on curved ones within the mesh's
    chordal error)."""
    pts = []
    for e in ELECTRODES:
        tris = np.asarray(mesh.boundary_tris.get(interface_name(e), np.zeros((0, 3), int)))
        if not len(tris):
            raise ValueError(f"the mesh has no {interface_name(e)}")
        pts.append(mesh.points_m[np.unique(tris)])
    dist, _ = cKDTree(pts[1]).query(pts[0], k=1)
    return float(dist.min())


def planar_equivalent_case(case: Case, volume_m3: Mapping[str, float], footprint_m2: float,
                           distance_m: float, given_m: Mapping[str, float] | None = None,
                           thickness_m: Mapping[str, float] | None = None) -> Case:
    """The planar equivalent of ``case`` (see the module docstring).

    Parameters
    ----------
    case : Case
    volume_m3 : mapping
        Electrode volumes of the design (``anode``, ``cathode``), m^3.
    footprint_m2 : float
        The design's footprint, m^2.
    distance_m : float
        The design's smallest anode-cathode distance (:func:`interelectrode_distance_m`), m.
    given_m : mapping, optional
        Film thicknesses (m) that replace the derived ones: any of ``electrolyte_thickness``,
        ``cathode_thickness``, ``anode_thickness``.
    thickness_m : mapping, optional
        Electrode film thicknesses (m) used instead of volume / footprint (``same_diffusion_length``:
        each electrode's volume / interface area).
    """
    raw = case.raw
    given_m = dict(given_m or {})
    if raw["architecture"] == "planar":
        g = dict(raw["geometry"])
    else:
        films = thickness_m or {e: volume_m3[e] / footprint_m2 for e in ("cathode", "anode")}
        g = {"cathode_thickness": films["cathode"] * 1e6, "anode_thickness": films["anode"] * 1e6,
             "electrolyte_thickness": distance_m * 1e6}
    g.update({k: v * 1e6 for k, v in given_m.items()})
    h = min(g["cathode_thickness"], g["anode_thickness"], g["electrolyte_thickness"]) / ELEMENTS_ACROSS
    if raw["architecture"] != "planar" or given_m:
        g["width"] = h
    physics = {k: v for k, v in raw.get("physics", {}).items() if k != "planar_equivalent"}
    if physics.get("model") == "transient":
        physics["planar_equivalent"] = False          # its own equivalent is itself: no recursion
    out = {"name": f"{case.name}-planar-equivalent", "architecture": "planar", "domain": "unit_cell",
           "geometry": g, "materials": {k: raw.get("materials", {}).get(k, case.materials[k].name)
                                        for k in ("electrolyte", "anode", "cathode")},
           "physics": physics,
           "mesh": raw["mesh"] if raw["architecture"] == "planar" and not given_m else {"size": h, "interface_size": h, "order": 2}}
    return load_case(out)


def ragone_ratio(design: Mapping[str, Mapping[str, Any]], planar: Mapping[str, Mapping[str, Any]]
                 ) -> dict[str, float | None]:
    """Energy of the design over the planar equivalent's at the same mean power, per rate of the
    design: the planar Ragone curve interpolated linearly in log E against log P; None where the
    design's power lies outside the planar runs' range."""
    pts = sorted((r["mean_power_uW_cm2"], r["energy_uWh_cm2"]) for r in planar.values()
                 if r["mean_power_uW_cm2"] > 0 and r["energy_uWh_cm2"] > 0)
    logp = np.log([p for p, _ in pts])
    loge = np.log([e for _, e in pts])
    out: dict[str, float | None] = {}
    for key, r in design.items():
        p, e = r["mean_power_uW_cm2"], r["energy_uWh_cm2"]
        if not pts or p <= 0 or not logp[0] <= np.log(p) <= logp[-1]:
            out[key] = None
            continue
        out[key] = float(e / np.exp(np.interp(np.log(p), logp, loge)))
    return out
