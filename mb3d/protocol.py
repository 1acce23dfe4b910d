"""The transient model's operating protocol: steps, rates, initial state and output times (issue 18).

``physics.protocol`` is a list of steps run in order (``docs/formats/case.md``, "Transient
physics"). A step is a mapping or a string in PyBaMM's Experiment phrasing:

=====================================================  ===========================================
mapping                                                string
=====================================================  ===========================================
``{discharge: 1C, until: 3.0 V}``                      ``Discharge at 1C until 3.0 V``
``{charge: C/2, for: 1 h, until: 4.2 V}``              ``Charge at C/2 for 1 hour or until 4.2 V``
``{discharge: 0.2 mA/cm2, for: 30 min}``               ``Discharge at 0.2 mA/cm2 for 30 minutes``
``{hold: 4.2 V, until: C/20}``                         ``Hold at 4.2 V until C/20``
``{hold: 4.2 V, for: 1 h, until: 0.01 mA/cm2}``        ``Hold at 4.2 V for 1 h or until 0.01 mA/cm2``
``{rest: 10 min}``                                     ``Rest for 10 minutes``
=====================================================  ===========================================

* A rate (discharge, charge, ``rates``) is a C-rate (``1C``, ``0.5C``, ``1 C``, ``C/5``, ``C``) or a
  current density with units (``0.2 mA/cm2``, ``2 A/m2``); a bare number is an error (C-rate or
  mA/cm2?), and so is a current (``50 mA``): the model works per footprint area.
* A discharge or charge ends at ``until`` (a voltage), after ``for`` (a duration), or at whichever comes
  first when both are given; it needs at least one. A hold (potentiostatic) ends at ``until`` (a
  current: C-rate or current density, the current falling below it), after ``for``, or both. A rest
  ends after its duration (no ``until``: the current is zero, nothing else can end it).
* Voltages may be bare numbers in V (as elsewhere in the case format) and durations bare numbers in
  seconds (as in PyBaMM); rates may not.
* In strings the words (discharge, charge, hold, rest, at, for, or, until) are case-insensitive and the
  time units too (``10 Minutes``); ``or`` before ``until`` is optional. PyBaMM's absolute currents (A),
  powers (W), resistances (Ohm), temperatures (``at 25oC``) and periods (``(1 minute period)``) are
  not accepted.

Errors are :class:`ProtocolError` (a ``ValueError``) whose message is one line,
``physics.protocol[2].until = '3 A': must be a voltage (e.g. 3.0 V) for a discharge step``; a string
step names the whole string and the part at fault:
``physics.protocol[0] = 'Discharge at 1 A until 3 V': at '1 A' must be a C-rate ...``.

Everything is pure parsing: checks that need the cell (a cut-off above the starting voltage, a hold
above the charged voltage, x given for a Li-metal anode ...) are left to the model; :func:`first_discharge`
finds the step those checks start from. Values are SI: A/m2, V, s; C-rates are multiples of 1C (the
cell's practical capacity per footprint delivered in one hour).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from solvers.units import QuantityError, Range, from_si, to_si

KINDS = ("discharge", "charge", "hold", "rest")
StepKind = Literal["discharge", "charge", "hold", "rest"]

#: C-rates (multiples of 1C)
C_RATES = Range("C", 0.0, 1000.0, low_open=True)
#: current densities (mA/cm2), as the case's ``CURRENT_DENSITIES``
CURRENT_DENSITIES = Range("mA/cm2", 0.0, 1e4, low_open=True)
#: cell voltages (V) of a protocol: set-points and cut-offs
VOLTAGES = Range("V", 0.0, 10.0, low_open=True)
#: the longest step or output time: one year (365.25 days, pint's ``year``)
MAX_DURATION_S = 365.25 * 86400.0
MAX_STEPS = 1000
MAX_RATES = 100
MAX_OUTPUT_TIMES = 10000

DEFAULT_INITIAL_STATE = "charged"
DEFAULT_OUTPUT_TIMES = 20

_EXAMPLES = ("'Discharge at 1C until 3.0 V', 'Charge at C/2 for 1 hour or until 4.2 V', "
             "'Hold at 4.2 V until C/20' or 'Rest for 10 minutes'")


class ProtocolError(ValueError):
    """A protocol key that breaks a rule; the message is one line ``key = value: rule`` (``key: rule``
    when there is no value to show). :mod:`mb3d.case` turns it into a ``CaseError``."""

    _NO_VALUE = object()

    def __init__(self, key: str, value: Any = _NO_VALUE, rule: str = ""):
        self.key, self.value, self.rule = key, value, rule
        if value is ProtocolError._NO_VALUE:
            self.value = None
            super().__init__(f"{key}: {rule}")
        else:
            super().__init__(f"{key} = {_shown(value)}: {rule}")


def _shown(v: Any) -> str:
    """A value as an error message shows it (as :mod:`mb3d.case` does)."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict | list | tuple):
        s = json.dumps(v, default=str)
        return s if len(s) < 60 else s[:57] + "..."
    return str(v)


# --------------------------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Step:
    """One step of the protocol, in SI units.

    ``kind``: discharge and charge are galvanostatic (exactly one of ``rate_C`` and
    ``current_density_A_m2``); hold is potentiostatic at ``voltage_V``; rest is at zero current. The
    step ends at the first of its limits: ``until_voltage_V`` (discharge, charge), ``until_rate_C`` or
    ``until_current_density_A_m2`` (hold: the current magnitude falls to it), ``duration_s`` (any kind;
    the only one of a rest). Magnitudes are positive; the direction is the kind (see :attr:`sign`).
    ``text`` is the step as written (a string, or a mapping shown as ``{discharge: 1C, until: 3 V}``).
    """

    kind: StepKind
    rate_C: float | None = None
    current_density_A_m2: float | None = None
    voltage_V: float | None = None
    until_voltage_V: float | None = None
    until_rate_C: float | None = None
    until_current_density_A_m2: float | None = None
    duration_s: float | None = None
    text: str = ""

    @property
    def sign(self) -> int:
        """The sign convention of the cell current: +1 for a discharge, -1 for a charge (as PyBaMM),
        0 for a rest and a hold (whose current is solved for: positive when it discharges)."""
        return {"discharge": 1, "charge": -1}.get(self.kind, 0)

    def current_A_m2(self, one_C_A_m2: float) -> float:
        """Magnitude of the applied current density (A/m2) given 1C (A/m2): a C-rate times 1C or the
        current density as written; 0 for a rest. Multiply by :attr:`sign` for the signed current
        (discharge positive). A hold applies a voltage: its current is an unknown (ValueError)."""
        _check_one_c(one_C_A_m2)
        if self.kind == "rest":
            return 0.0
        if self.kind == "hold":
            raise ValueError("a hold step applies a voltage: its current is solved for, not applied")
        if self.rate_C is not None:
            return self.rate_C * one_C_A_m2
        assert self.current_density_A_m2 is not None
        return self.current_density_A_m2

    def until_current_A_m2(self, one_C_A_m2: float) -> float | None:
        """The current magnitude (A/m2) at which a hold ends (``until``), or None."""
        _check_one_c(one_C_A_m2)
        if self.until_rate_C is not None:
            return self.until_rate_C * one_C_A_m2
        return self.until_current_density_A_m2

    def describe(self) -> str:
        """A normalised phrase that :func:`parse_step` reads back to the same step: ``discharge at 1C
        until 3 V``, ``charge at C/2 for 1 h or until 4.2 V``, ``hold at 4.2 V until C/20``,
        ``rest for 10 min`` (lower case; C-rates below 1C that are 1/n written C/n; current densities in
        mA/cm2; durations in h, min or s, whichever is whole; 12 significant digits)."""
        if self.kind == "rest":
            return f"rest for {_duration_text(self.duration_s)}"
        if self.kind == "hold":
            head = f"hold at {_num(self.voltage_V)} V"
            until = (_rate_text(self.until_rate_C, self.until_current_density_A_m2)
                     if self.until_rate_C is not None or self.until_current_density_A_m2 is not None
                     else None)
        else:
            head = f"{self.kind} at {_rate_text(self.rate_C, self.current_density_A_m2)}"
            until = f"{_num(self.until_voltage_V)} V" if self.until_voltage_V is not None else None
        parts = [head]
        if self.duration_s is not None:
            parts.append(f"for {_duration_text(self.duration_s)}")
        if until is not None:
            parts.append(("or until " if self.duration_s is not None else "until ") + until)
        return " ".join(parts)


@dataclass(frozen=True)
class RateSpec:
    """One entry of ``physics.rates``: a C-rate or a current density (A/m2), and ``text`` as written
    (the key of the run's results)."""

    text: str
    rate_C: float | None = None
    current_density_A_m2: float | None = None

    def current_A_m2(self, one_C_A_m2: float) -> float:
        """The current density magnitude (A/m2) given 1C (A/m2)."""
        _check_one_c(one_C_A_m2)
        if self.rate_C is not None:
            return self.rate_C * one_C_A_m2
        assert self.current_density_A_m2 is not None
        return self.current_density_A_m2

    def describe(self) -> str:
        """The rate normalised as :meth:`Step.describe` writes it (``C/5``, ``2C``, ``0.2 mA/cm2``)."""
        return _rate_text(self.rate_C, self.current_density_A_m2)


@dataclass(frozen=True)
class InitialState:
    """``physics.initial_state``: ``charged`` or ``discharged`` (the electrodes at their
    ``stoichiometry`` limits), or ``fractions`` with the Li fractions x = c/c_max given. A fraction not
    given is None (a Li-metal anode has none; the model rejects a missing one it needs)."""

    state: Literal["charged", "discharged", "fractions"]
    x_cathode: float | None = None
    x_anode: float | None = None

    def normalized(self) -> str | dict[str, float]:
        """As a case file writes it."""
        if self.state != "fractions":
            return self.state
        return {k: v for k, v in (("x_cathode", self.x_cathode), ("x_anode", self.x_anode)) if v is not None}


@dataclass(frozen=True)
class Protocol:
    """The operating protocol of a transient case: the steps, the rates the first galvanostatic step
    is run at in turn (or None), the initial state, and the output times (a count of snapshots, or
    times in s from the start of a run, increasing)."""

    steps: tuple[Step, ...]
    rates: tuple[RateSpec, ...] | None = None
    initial_state: InitialState = InitialState(DEFAULT_INITIAL_STATE)
    output_times: int | tuple[float, ...] = DEFAULT_OUTPUT_TIMES

    def runs(self) -> tuple[tuple[str | None, tuple[Step, ...]], ...]:
        """The runs to simulate, each ``(key, steps)``: one run keyed None without ``rates``; with
        ``rates``, one per rate keyed by its text as written, with the rate of the first discharge or
        charge step (:func:`rate_step_index`) replaced (that step's ``text`` becomes its
        :meth:`Step.describe`)."""
        if self.rates is None:
            return ((None, self.steps),)
        i = rate_step_index(self.steps)
        if i is None:
            raise ValueError("rates need a discharge or charge step in the protocol")
        out = []
        for r in self.rates:
            s = dataclasses.replace(self.steps[i], rate_C=r.rate_C, current_density_A_m2=r.current_density_A_m2)
            s = dataclasses.replace(s, text=s.describe())
            out.append((r.text, self.steps[:i] + (s,) + self.steps[i + 1:]))
        return tuple(out)

    def normalized(self) -> dict[str, Any]:
        """The protocol keys as a case file writes them, every step as its :meth:`Step.describe`
        (parsing it back gives the same protocol)."""
        out: dict[str, Any] = {"protocol": [s.describe() for s in self.steps]}
        if self.rates is not None:
            out["rates"] = [r.text for r in self.rates]
        out["initial_state"] = self.initial_state.normalized()
        out["output_times"] = (self.output_times if isinstance(self.output_times, int)
                               else [_round(t) for t in self.output_times])
        return out


def first_discharge(steps: Sequence[Step]) -> tuple[int, Step] | None:
    """The first discharge step and its index in ``steps`` (for checks that need the cell, such as a
    cut-off voltage above the voltage the discharge starts from), or None."""
    for i, s in enumerate(steps):
        if s.kind == "discharge":
            return i, s
    return None


def rate_step_index(steps: Sequence[Step]) -> int | None:
    """Index of the step whose rate ``physics.rates`` replaces: the first discharge or charge."""
    for i, s in enumerate(steps):
        if s.kind in ("discharge", "charge"):
            return i
    return None


# --------------------------------------------------------------------------------------------- parsers

def parse_protocol(raw_list: Any, key: str = "physics.protocol") -> tuple[Step, ...]:
    """Parse ``physics.protocol``: a non-empty list of steps (mappings or strings)."""
    if isinstance(raw_list, str | bytes | Mapping) or not isinstance(raw_list, Sequence) or not raw_list:
        raise ProtocolError(key, raw_list, "must be a non-empty list of steps, e.g. "
                                           "[{discharge: 1C, until: 3.0 V}, {rest: 10 min}]")
    if len(raw_list) > MAX_STEPS:
        raise ProtocolError(key, raw_list, f"at most {MAX_STEPS} steps")
    return tuple(parse_step(item, f"{key}[{i}]") for i, item in enumerate(raw_list))


def parse_step(raw: Any, key: str = "physics.protocol[0]") -> Step:
    """Parse one step (a mapping or a string); ``key`` names it in errors."""
    if isinstance(raw, str):
        return _parse_string(raw, key)
    if isinstance(raw, Mapping):
        return _parse_mapping(raw, key)
    raise ProtocolError(key, raw, "must be a step: a mapping such as {discharge: 1C, until: 3.0 V} or a "
                                  "string such as 'Discharge at 1C until 3.0 V'")


def parse_rates(raw: Any, key: str = "physics.rates") -> tuple[RateSpec, ...]:
    """Parse ``physics.rates``: a non-empty list of distinct C-rates or current densities."""
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence) or not raw:
        raise ProtocolError(key, raw, "must be a non-empty list of C-rates or current densities, "
                                      "e.g. [0.1C, 1C, 10C]")
    if len(raw) > MAX_RATES:
        raise ProtocolError(key, raw, f"at most {MAX_RATES} rates")
    out: list[RateSpec] = []
    for i, item in enumerate(raw):
        try:
            rate, j = _rate(item, _RATE_RULE)
        except _Bad as exc:
            raise ProtocolError(f"{key}[{i}]", item, exc.rule) from None
        spec = RateSpec(str(item).strip(), rate, j)
        for k, prev in enumerate(out):
            if (prev.rate_C, prev.current_density_A_m2) == (rate, j) or prev.text == spec.text:
                raise ProtocolError(f"{key}[{i}]", item, f"repeats {key}[{k}] (the runs are keyed by rate)")
        out.append(spec)
    return tuple(out)


def parse_initial_state(raw: Any, key: str = "physics.initial_state") -> InitialState:
    """Parse ``physics.initial_state``: ``charged``, ``discharged`` or ``{x_cathode: .., x_anode: ..}``
    (Li fractions in [0, 1], at least one)."""
    if raw in ("charged", "discharged"):
        return InitialState(raw)
    rule = "must be charged, discharged or a mapping {x_cathode: 0.5, x_anode: 0.1} (Li fractions in [0, 1])"
    if not isinstance(raw, Mapping):
        raise ProtocolError(key, raw, rule)
    for k in raw:
        if k not in ("x_cathode", "x_anode"):
            raise ProtocolError(f"{key}.{k}", rule="unknown key (allowed: x_cathode, x_anode)")
    if not raw:
        raise ProtocolError(key, dict(raw), rule)
    xs: dict[str, float] = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
            raise ProtocolError(f"{key}.{k}", v, "must be a Li fraction c/c_max in [0, 1]")
        xs[k] = float(v)
    return InitialState("fractions", xs.get("x_cathode"), xs.get("x_anode"))


def parse_output_times(raw: Any, key: str = "physics.output_times") -> int | tuple[float, ...]:
    """Parse ``physics.output_times``: a count of snapshots (an integer in [1, 10000]) or a list of
    times from the start of a run (durations with units, or numbers in s), increasing, in [0 s, 1 year]."""
    rule = (f"must be a count of snapshots in [1, {MAX_OUTPUT_TIMES}] or a list of increasing times "
            "(e.g. [0 s, 10 min, 1 h])")
    if isinstance(raw, bool):
        raise ProtocolError(key, raw, rule)
    if isinstance(raw, int):
        if not 1 <= raw <= MAX_OUTPUT_TIMES:
            raise ProtocolError(key, raw, rule)
        return raw
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence) or not raw:
        raise ProtocolError(key, raw, rule)
    if len(raw) > MAX_OUTPUT_TIMES:
        raise ProtocolError(key, raw, f"at most {MAX_OUTPUT_TIMES} times")
    out: list[float] = []
    for i, item in enumerate(raw):
        kind, t = _classify(item)
        if kind not in ("duration", "number"):
            raise ProtocolError(f"{key}[{i}]", item, _duration_rule(item))
        if not 0.0 <= t <= MAX_DURATION_S:
            raise ProtocolError(f"{key}[{i}]", item, "must be in [0 s, 1 year]")
        if out and t <= out[-1]:
            raise ProtocolError(f"{key}[{i}]", item, f"must be later than {key}[{i - 1}] (times increase)")
        out.append(t)
    return tuple(out)


def parse_physics(physics: Mapping[str, Any], key: str = "physics") -> Protocol:
    """The :class:`Protocol` of a transient ``physics`` block: ``protocol`` (required), ``rates``,
    ``initial_state`` (default charged) and ``output_times`` (default 20); other keys are ignored."""
    if "protocol" not in physics or physics["protocol"] is None:
        raise ProtocolError(f"{key}.protocol", rule="missing: the transient model needs a list of steps, "
                                                    "e.g. [{discharge: 1C, until: 3.0 V}]")
    steps = parse_protocol(physics["protocol"], f"{key}.protocol")
    rates = None
    if physics.get("rates") is not None:
        rates = parse_rates(physics["rates"], f"{key}.rates")
        if rate_step_index(steps) is None:
            raise ProtocolError(f"{key}.rates", physics["rates"],
                                f"needs a discharge or charge step in {key}.protocol (its rate is replaced "
                                "by each rate in turn)")
    state = parse_initial_state(physics.get("initial_state", DEFAULT_INITIAL_STATE), f"{key}.initial_state")
    times = parse_output_times(physics.get("output_times", DEFAULT_OUTPUT_TIMES), f"{key}.output_times")
    return Protocol(steps, rates, state, times)


# ------------------------------------------------------------------------------------- step internals

_RATE_RULE = "must be a C-rate (e.g. 1C, C/5) or a current density (e.g. 0.2 mA/cm2)"
_HOLD_UNTIL_RULE = "must be a C-rate (e.g. C/20) or a current density (e.g. 0.01 mA/cm2) for a hold step"
_HOLD_V_RULE = "must be a voltage (e.g. 4.2 V)"
_CUT_OFF_EXAMPLE = {"discharge": "3.0 V", "charge": "4.2 V"}


class _Bad(Exception):
    """A rule broken by one part of a step (turned into a :class:`ProtocolError` by the caller)."""

    def __init__(self, rule: str):
        super().__init__(rule)
        self.rule = rule


_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_C_RATE = re.compile(rf"\s*(?:(?P<n>{_NUM})\s*C|C\s*/\s*(?P<d>{_NUM})|(?P<one>C))\s*", re.IGNORECASE)
_NUMBER_ONLY = re.compile(rf"\s*{_NUM}\s*")
_NUMBER_UNIT = re.compile(rf"\s*({_NUM})\s*(.*?)\s*")
_TIME_WORDS = {"s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr",
               "hrs", "hour", "hours", "day", "days"}
_UNITS = (("current_density", "mA/cm2"), ("voltage", "V"), ("duration", "s"), ("current", "A"))


def _classify(value: Any) -> tuple[str, float]:
    """What a value is: ``c_rate`` (in C), ``number`` (bare), ``current_density`` (A/m2), ``voltage``
    (V), ``duration`` (s), ``current`` (A) or ``other``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return "other", math.nan
    if not isinstance(value, str):
        return "number", float(value)
    return _classify_text(value)


@functools.lru_cache(maxsize=1024)
def _classify_text(value: str) -> tuple[str, float]:
    m = _C_RATE.fullmatch(value)
    if m:
        if m["one"]:
            return "c_rate", 1.0
        if m["n"] is not None:
            return "c_rate", float(m["n"])
        d = float(m["d"])
        return "c_rate", (1.0 / d if d != 0 else math.inf)
    if _NUMBER_ONLY.fullmatch(value):
        return "number", float(value)
    m = _NUMBER_UNIT.fullmatch(value)
    if m and m[2].lower() in _TIME_WORDS:                # "10 Minutes", "1 H" (henry otherwise)
        value = f"{m[1]} {m[2].lower()}"
    elif m and m[2] in ("v", "mv"):
        value = f"{m[1]} {m[2][:-1]}V"
    for kind, unit in _UNITS:
        try:
            return kind, to_si(value, unit, "")
        except QuantityError:
            continue
    return "other", math.nan


def _rate(value: Any, rule: str) -> tuple[float | None, float | None]:
    """(C-rate, None) or (None, current density A/m2) from a rate, else :class:`_Bad`."""
    kind, x = _classify(value)
    if kind == "c_rate":
        if not C_RATES.contains(x):
            raise _Bad(f"must be a C-rate in {C_RATES.rule().removeprefix('in ').removesuffix(' C')}")
        return x, None
    if kind == "current_density":
        if not CURRENT_DENSITIES.contains(from_si(x, "mA/cm2")):
            raise _Bad(f"must be {CURRENT_DENSITIES.rule()}")
        return None, x
    if kind == "number":
        raise _Bad(f"{rule}: a bare number has no unit")
    if kind == "current":
        raise _Bad(f"{rule}, not a current: the model works per footprint area")
    raise _Bad(rule)


def _voltage(value: Any, rule: str) -> float:
    kind, x = _classify(value)
    if kind not in ("voltage", "number"):
        if kind == "duration":
            rule += "; a duration goes under for"
        raise _Bad(rule)
    if not VOLTAGES.contains(x):
        raise _Bad(f"must be {VOLTAGES.rule()}")
    return x


def _duration_rule(value: Any) -> str:
    rule = "must be a duration (e.g. 30 s, 10 min, 1 h)"
    m = _NUMBER_UNIT.fullmatch(value) if isinstance(value, str) else None
    if m and m[2] == "m":
        rule += ": m is metres, write min"
    return rule


def _duration(value: Any) -> float:
    kind, x = _classify(value)
    if kind not in ("duration", "number"):
        raise _Bad(_duration_rule(value))
    if not 0.0 < x <= MAX_DURATION_S:
        raise _Bad("must be in (0 s, 1 year]")
    return x


def _build(kind: str, at: Any, until: Any, for_: Any, text: str, fail) -> Step:
    """A step from its parts (None: not given). ``fail(field, value, rule)`` returns the error to raise
    for a part (field: the kind, ``until`` or ``for``)."""

    def part(field: str, value: Any, parse):
        try:
            return parse(value)
        except _Bad as exc:
            raise fail(field, value, exc.rule) from None

    duration = part("for", for_, _duration) if for_ is not None else None
    if kind == "rest":
        return Step("rest", duration_s=part("rest", at, _duration), text=text)
    if kind == "hold":
        v = part("hold", at, lambda x: _voltage(x, _HOLD_V_RULE))
        ur, uj = part("until", until, lambda x: _rate(x, _HOLD_UNTIL_RULE)) if until is not None else (None, None)
        return Step("hold", voltage_V=v, until_rate_C=ur, until_current_density_A_m2=uj, duration_s=duration,
                    text=text)
    rate, j = part(kind, at, lambda x: _rate(x, _RATE_RULE))
    rule = f"must be a voltage (e.g. {_CUT_OFF_EXAMPLE[kind]}) for a {kind} step"
    uv = part("until", until, lambda x: _voltage(x, rule)) if until is not None else None
    return Step(kind, rate_C=rate, current_density_A_m2=j, until_voltage_V=uv, duration_s=duration, text=text)  # type: ignore[arg-type]


def _allowed(kind: str) -> tuple[str, ...]:
    return (kind,) if kind == "rest" else (kind, "until", "for")


def _parse_mapping(raw: Mapping, key: str) -> Step:
    kinds = [k for k in raw if k in KINDS]
    if not kinds:
        for k in raw:
            if k not in ("until", "for"):
                raise ProtocolError(f"{key}.{k}", rule=f"unknown key (allowed: {', '.join(KINDS)}, until, for)")
        raise ProtocolError(key, dict(raw), f"must name its kind: one of {', '.join(KINDS)}")
    if len(kinds) > 1:
        raise ProtocolError(key, dict(raw), f"one kind per step, not {' and '.join(kinds)}")
    kind = kinds[0]
    for k in raw:
        if k not in _allowed(kind):
            hint = ": a rest ends after its duration" if kind == "rest" else ""
            raise ProtocolError(f"{key}.{k}", rule=f"unknown key for a {kind} step (allowed: "
                                                   f"{', '.join(_allowed(kind))}){hint}")
    until, for_ = raw.get("until"), raw.get("for")
    if kind != "rest" and until is None and for_ is None:
        what = "a current, e.g. C/20" if kind == "hold" else f"a voltage, e.g. {_CUT_OFF_EXAMPLE[kind]}"
        raise ProtocolError(key, dict(raw), f"a {kind} step needs until ({what}), for (a duration, e.g. 1 h) "
                                            "or both")
    text = "{" + ", ".join(f"{k}: {v}" for k, v in raw.items()) + "}"
    return _build(kind, raw[kind], until, for_, text,
                  lambda field, value, rule: ProtocolError(f"{key}.{field}", value, rule))


_STRING = re.compile(r"\s*(?P<verb>[A-Za-z]+)(?:\s+at\s+(?P<at>.+?))?(?:\s+for\s+(?P<for>.+?))?"
                     r"(?:\s+(?:or\s+)?until\s+(?P<until>.+?))?\s*", re.IGNORECASE)
_STRING_WORD = {"discharge": "at", "charge": "at", "hold": "at", "rest": "for", "until": "until", "for": "for"}


def _parse_string(raw: str, key: str) -> Step:
    text = raw.strip()

    def bad(rule: str) -> ProtocolError:
        return ProtocolError(key, raw, rule)

    first = re.match(r"\s*([A-Za-z]*)", raw)[1]   # type: ignore[index]
    if not first:
        raise bad(f"must read like {_EXAMPLES}")
    if first.lower() not in KINDS:
        raise bad(f"unknown step kind {first!r} (known: {', '.join(KINDS)})")
    if re.search(r"\bperiod\b", raw, re.IGNORECASE):
        raise bad("a step takes no output period: set physics.output_times")
    if re.search(r"\bat\s+[-+.\d]+\s*(?:oC|degC|K)\b", raw):
        raise bad("a step takes no temperature: set physics.temperature")
    m = _STRING.fullmatch(raw)
    if m is None:
        raise bad(f"must read like {_EXAMPLES}")
    kind = m["verb"].lower()
    at, for_, until = m["at"], m["for"], m["until"]
    if kind == "rest":
        if at is not None or until is not None or for_ is None:
            raise bad("a rest step ends after its duration: write e.g. 'Rest for 10 minutes'")
        at, for_ = for_, None
    else:
        if at is None:
            example = {"discharge": "Discharge at 1C", "charge": "Charge at C/2", "hold": "Hold at 4.2 V"}[kind]
            what = "voltage" if kind == "hold" else "rate"
            raise bad(f"a {kind} step needs a {what}: '{example} ...'")
        if until is None and for_ is None:
            example = "C/20" if kind == "hold" else _CUT_OFF_EXAMPLE[kind]
            raise bad(f"a {kind} step needs 'until {example}', 'for 1 hour' or both "
                      f"('for 1 hour or until {example}')")
    return _build(kind, at, until, for_, text,
                  lambda field, value, rule: bad(f"{_STRING_WORD[field]} {value!r} {rule}"))


# --------------------------------------------------------------------------------------------- formats

def _check_one_c(one_C_A_m2: float) -> None:
    if not (isinstance(one_C_A_m2, int | float) and math.isfinite(one_C_A_m2) and one_C_A_m2 > 0):
        raise ValueError(f"1C must be a positive current density in A/m2, not {one_C_A_m2!r}")


def _round(x: float) -> float:
    return float(f"{x:.12g}")


def _num(x: float | None) -> str:
    """A number in 12 significant digits, as short as it goes: ``3``, ``0.2``, ``1e-5``."""
    assert x is not None
    s = f"{x:.12g}"
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return s


def _rate_text(rate_C: float | None, j_A_m2: float | None) -> str:
    if rate_C is not None:
        if rate_C < 1:
            n = round(1.0 / rate_C)
            if n >= 2 and abs(1.0 / rate_C - n) <= 1e-9 * n:
                return f"C/{n}"
        return f"{_num(rate_C)}C"
    assert j_A_m2 is not None
    return f"{_num(from_si(j_A_m2, 'mA/cm2'))} mA/cm2"


def _duration_text(s: float | None) -> str:
    assert s is not None
    for unit, size in (("h", 3600.0), ("min", 60.0)):
        n = s / size
        if n >= 1 and abs(n - round(n)) <= 1e-9 * n:
            return f"{_num(round(n))} {unit}"
    return f"{_num(s)} s"
