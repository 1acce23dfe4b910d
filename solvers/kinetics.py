"""Interface kinetics: Butler-Volmer (or its linearisation) with an optional series film resistance.

At an electrode|electrolyte interface the anodic current density leaving the electrode into the
electrolyte (A/m^2; positive at the anode during discharge, negative at the cathode) is

    i = i0 [exp(alpha_a f eta) - exp(-alpha_c f eta)]           (butler_volmer)
    i = i0 f (alpha_a + alpha_c) eta                            (linear)

with f = F / (R T) and the overpotential eta = phi_s - phi_e - U (electrode potential minus
electrolyte potential minus the electrode's equilibrium potential U vs Li/Li+). The charge-transfer
resistance of the linearised law is R_ct = 1 / (i0 f (alpha_a + alpha_c)) (ohm m^2).

A thin electrode film collapsed onto its collector (``mesh.thin_layer_limit``) carries the current
through its thickness t with conductivity s: a series resistance r = t / s (ohm m^2). The interface
then obeys

    Delta = eta + r i(eta),      Delta = phi_s - phi_e - U  (phi_s: the collector behind the film),

solved for eta point by point with a safeguarded Newton iteration (the left side is strictly
increasing in eta, and eta lies between 0 and Delta). :meth:`Kinetics.current` returns i and the
consistent derivative di/dDelta = i'(eta) / (1 + r i'(eta)) that the global Newton method needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .constants import FARADAY, GAS_CONSTANT
#: exponent cap: exp(700) is still finite in double precision
_EXP_CAP = 700.0


@dataclass(frozen=True)
class Kinetics:
    """Kinetics of one interface.

    Parameters
    ----------
    i0_A_m2 : float
        Exchange current density, A/m^2 (> 0).
    alpha_a, alpha_c : float
        Anodic and cathodic transfer coefficients.
    temperature_K : float
    linear : bool
        Use the linearised law.
    film_resistance_ohm_m2 : float
        Series resistance of a collapsed film between the interface and its collector, ohm m^2.
    """

    i0_A_m2: float
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    temperature_K: float = 298.15
    linear: bool = False
    film_resistance_ohm_m2: float = 0.0

    def __post_init__(self) -> None:
        if not self.i0_A_m2 > 0:
            raise ValueError(f"exchange current density must be > 0, got {self.i0_A_m2}")
        if not (self.alpha_a > 0 and self.alpha_c > 0):
            raise ValueError("transfer coefficients must be > 0")
        if not self.film_resistance_ohm_m2 >= 0:
            raise ValueError("film resistance must be >= 0")

    @property
    def f(self) -> float:
        """F / (R T), 1/V."""
        return FARADAY / (GAS_CONSTANT * self.temperature_K)

    @property
    def charge_transfer_resistance_ohm_m2(self) -> float:
        """R_ct = 1 / (i0 f (alpha_a + alpha_c)), the slope of the law at eta = 0, ohm m^2."""
        return 1.0 / (self.i0_A_m2 * self.f * (self.alpha_a + self.alpha_c))

    # --- the law without the film ----------------------------------------------------------------
    def law(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Current density i(eta) and di/deta, A/m^2 and S/m^2."""
        eta = np.asarray(eta, dtype=float)
        if self.linear:
            g = 1.0 / self.charge_transfer_resistance_ohm_m2
            return g * eta, np.full_like(eta, g)
        f = self.f
        ea = np.exp(np.minimum(self.alpha_a * f * eta, _EXP_CAP))
        ec = np.exp(np.minimum(-self.alpha_c * f * eta, _EXP_CAP))
        return self.i0_A_m2 * (ea - ec), self.i0_A_m2 * f * (self.alpha_a * ea + self.alpha_c * ec)

    def _solve(self, rhs: np.ndarray, r: float) -> np.ndarray:
        """Solve eta + r i(eta) = rhs for eta, point by point (i increasing, i(0) = 0)."""
        rhs = np.asarray(rhs, dtype=float)
        lo, hi = np.minimum(rhs, 0.0), np.maximum(rhs, 0.0)
        g0 = self.law(np.zeros(1))[1][0]
        eta = rhs / (1.0 + r * g0)
        scale = np.maximum(np.abs(rhs), 1e-12)
        for _ in range(200):
            val, der = self.law(eta)
            res = eta + r * val - rhs
            if np.all(np.abs(res) <= 1e-13 * scale):
                return eta
            hi = np.where(res > 0, eta, hi)
            lo = np.where(res <= 0, eta, lo)
            new = eta - res / (1.0 + r * der)
            bad = ~((new > lo) & (new < hi))
            eta = np.where(bad, 0.5 * (lo + hi), new)
        return eta

    # --- with the film ---------------------------------------------------------------------------
    def current(self, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Current density for a total driving force ``delta`` = phi_s - phi_e - U.

        Returns
        -------
        i : ndarray
            Current density leaving the electrode, A/m^2.
        di : ndarray
            di/ddelta, S/m^2.
        eta : ndarray
            Kinetic overpotential (delta minus the film's ohmic drop), V.
        """
        r = self.film_resistance_ohm_m2
        delta = np.asarray(delta, dtype=float)
        eta = delta if r == 0 else self._solve(delta, r)
        i, d = self.law(eta)
        return i, d / (1.0 + r * d), eta

    def current_at(self, delta: np.ndarray, i0: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`current` with a pointwise exchange current density ``i0`` (A/m^2) in place of
        ``i0_A_m2`` (the transient model's i0(x)).

        The law is i0 g(eta) with g the law at unit i0; with the film, eta + r i0 g(eta) = delta is
        the film-free problem of unit i0 with resistance r i0, solved point by point.

        Returns
        -------
        i, di_ddelta, di_di0, eta : ndarray
            A/m^2, S/m^2, 1 (di/di0 at fixed delta), V.
        """
        delta = np.asarray(delta, dtype=float)
        i0 = np.asarray(i0, dtype=float)
        r = self.film_resistance_ohm_m2
        unit = Kinetics(1.0, self.alpha_a, self.alpha_c, self.temperature_K, self.linear)
        eta = delta if r == 0 else unit._solve(delta, r * i0)
        g, dg = unit.law(eta)
        den = 1.0 + r * i0 * dg
        return i0 * g, i0 * dg / den, g / den, eta

    def overpotential(self, i: np.ndarray) -> np.ndarray:
        """Kinetic overpotential eta that carries current density ``i`` (inverse of the law), V."""
        i = np.asarray(i, dtype=float)
        if self.linear:
            return i * self.charge_transfer_resistance_ohm_m2
        a, c = self.alpha_a, self.alpha_c
        if a == c:
            return np.arcsinh(i / (2.0 * self.i0_A_m2)) / (a * self.f)
        # unequal alphas: Newton on law(eta) = i (law increasing), started from the Tafel-like
        # estimate log(1 + |i|/i0) / (alpha f), which is never short of the root
        eta = np.where(i >= 0, np.log1p(np.abs(i) / self.i0_A_m2) / (a * self.f),
                       -np.log1p(np.abs(i) / self.i0_A_m2) / (c * self.f))
        for _ in range(100):
            val, der = self.law(eta)
            step = (val - i) / der
            eta = eta - step
            if np.all(np.abs(step) <= 1e-15 + 1e-13 * np.abs(eta)):
                break
        return eta

    def total_overpotential(self, i: np.ndarray) -> np.ndarray:
        """Kinetic overpotential plus the film's ohmic drop at current density ``i``, V."""
        return self.overpotential(i) + self.film_resistance_ohm_m2 * np.asarray(i, dtype=float)

    def resistance(self, i: float) -> float:
        """Differential interface resistance d(eta + r i)/di at current density ``i``, ohm m^2."""
        eta = float(self.overpotential(np.array([i]))[0])
        return 1.0 / float(self.law(np.array([eta]))[1][0]) + self.film_resistance_ohm_m2


__all__ = ["FARADAY", "GAS_CONSTANT", "Kinetics"]
