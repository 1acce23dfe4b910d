"""Exact geometric metrics from the OpenCASCADE model (not from the faceted mesh).

Volumes and areas are the OCC mass properties of the B-rep entities (analytic surfaces, exact to
round-off for planes and cylinders); area gain is interface area over footprint area.
"""
from __future__ import annotations

from dataclasses import dataclass

import gmsh

from .model import ELECTRODES, Geometry
from .params import MODEL_UNIT_M


@dataclass(frozen=True)
class GeometricMetrics:
    """Exact volumes and areas of one model, SI units.

    Attributes
    ----------
    footprint_area_m2 : float
    volume_m3 : dict
        Region name -> volume; for a layer stack, each film's role -> its exact film volume.
    interface_area_m2 : dict
        Electrode -> area of its electrode|electrolyte interface.
    area_gain : dict
        Electrode -> interface area / footprint area.
    feature_interface_area_m2 : tuple of float
        Interface area of each feature, in the order of ``Geometry.features``.
    """

    footprint_area_m2: float
    volume_m3: dict[str, float]
    interface_area_m2: dict[str, float]
    area_gain: dict[str, float]
    feature_interface_area_m2: tuple[float, ...]


def exact_metrics(geo: Geometry) -> GeometricMetrics:
    """Volumes and interface areas of the model in the open gmsh session.

    Parameters
    ----------
    geo : Geometry

    Returns
    -------
    GeometricMetrics
    """
    occ = gmsh.model.occ
    a2, v3 = MODEL_UNIT_M ** 2, MODEL_UNIT_M ** 3
    volume = {name: sum(occ.getMass(3, t) for t in vols) * v3 for name, vols in geo.regions.items()}
    # the films of a stack by their exact volumes (a collapsed film has no region; a resolved film's
    # region may also hold the collapsed films it carries)
    volume.update({layer.role: layer.volume_m3 for layer in geo.layers})
    area = {e: sum(occ.getMass(2, t) for t in geo.interfaces[e]) * a2 for e in ELECTRODES}
    feat = tuple(sum(occ.getMass(2, t) for t in surfs) * a2 for surfs in geo.feature_surfaces)
    gain = {e: area[e] / geo.footprint_area_m2 for e in ELECTRODES}
    return GeometricMetrics(geo.footprint_area_m2, volume, area, gain, feat)
