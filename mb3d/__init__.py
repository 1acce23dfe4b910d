"""mb3d: design 3D all-solid-state thin-film microbatteries.

The application layer: case schema (:mod:`mb3d.case`), pipeline (:mod:`mb3d.pipeline`), outputs
(:mod:`mb3d.outputs`) and the command line (:mod:`mb3d.cli`). It wires :mod:`geom3d` (geometry and
meshing) to :mod:`solvers` (physics).
"""
__version__ = "0.1.0"
