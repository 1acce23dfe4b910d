"""Physical constants and the unit factors used at the output edge (SI everywhere else).

Inside mb3d every quantity is SI; these factors convert results to the display units that the
results format names in its keys (``mA_cm2``, ``ohm_cm2``, ``uAh_cm2``, ``um``).
"""
from __future__ import annotations

#: Faraday constant, C/mol (CODATA 2018, exact)
FARADAY = 96485.33212
#: molar gas constant, J/(mol K) (CODATA 2018, exact)
GAS_CONSTANT = 8.314462618
#: Boltzmann constant, J/K (exact)
K_B = 1.380649e-23
#: 0 degC in kelvin
ZERO_CELSIUS_K = 273.15

#: A/m^2 -> mA/cm^2
A_M2_TO_MA_CM2 = 0.1
#: m^2 -> cm^2 (also ohm m^2 -> ohm cm^2)
M2_TO_CM2 = 1e4
#: m -> um
M_TO_UM = 1e6
#: m^2 -> um^2
M2_TO_UM2 = 1e12
#: m^3 -> um^3
M3_TO_UM3 = 1e18
#: coulomb -> uAh
C_TO_UAH = 1 / 3.6e-3
#: S/m -> S/cm
S_M_TO_S_CM = 1e-2
