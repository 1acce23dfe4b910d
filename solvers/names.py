"""Names shared by the physics and the application layer: the roles of a cell's regions and the
boundary names the meshes carry.

The geometry side (:mod:`geom3d.model`, which never imports :mod:`solvers`) writes the same names;
``tests/test_units_materials.py`` checks that the two agree.
"""
from __future__ import annotations

#: the two electrodes, in the order every per-electrode output uses
ELECTRODES = ("anode", "cathode")
#: the regions every cell has a material for
ROLES = ("electrolyte", *ELECTRODES)
ELECTROLYTE = "electrolyte"


def interface_name(electrode: str) -> str:
    """Boundary name of an electrode|electrolyte interface: ``anode_interface``."""
    return f"{electrode}_interface"


def electrode_sign(electrode: str) -> float:
    """+1 for the anode, -1 for the cathode: the discharge current leaves the anode into the
    electrolyte and enters the cathode."""
    return 1.0 if electrode == "anode" else -1.0
