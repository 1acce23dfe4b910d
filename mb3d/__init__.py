"""mb3d: design 3D all-solid-state thin-film microbatteries.

The application layer: case schema (:mod:`mb3d.case`), pipeline (:mod:`mb3d.pipeline`), outputs
(:mod:`mb3d.outputs`) and the command line (:mod:`mb3d.cli`). It wires :mod:`geom3d` (geometry and
meshing) to :mod:`solvers` (physics).
"""
__version__ = "0.1.0"

import copyreg as _copyreg
import types as _types


def _proxy(items: dict) -> _types.MappingProxyType:
    return _types.MappingProxyType(items)


# Cases, geometry and mesh records hold read-only mappings; let them travel to and from the
# processes that run cases (mb3d.isolate, Dask workers).
_copyreg.pickle(_types.MappingProxyType, lambda m: (_proxy, (dict(m),)))
