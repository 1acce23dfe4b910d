"""geom3d: parametric 3D microbattery geometries, gmsh meshing and exact geometric metrics.

Never imports :mod:`solvers`. Typical use::

    from geom3d import registry, gmsh_session, mesh_geometry, exact_metrics, Domain
    arch = registry.get("interdigitated_pillars")
    params = arch.params(pitch=40e-6)
    with gmsh_session():
        geo = arch.build(params, Domain())
        metrics = exact_metrics(geo)
        mesh = mesh_geometry(geo, size_m=2e-6, interface_size_m=0.5e-6)
"""
from .meshing import MeshData, mesh_geometry
from .metrics import GeometricMetrics, exact_metrics
from .model import Feature, Geometry, GeometryError, gmsh_session
from .params import Domain, ParameterError, Params

__all__ = ["Domain", "Feature", "GeometricMetrics", "Geometry", "GeometryError", "MeshData",
           "ParameterError", "Params", "exact_metrics", "gmsh_session", "mesh_geometry"]
