"""The transient model's operating protocol (mb3d.protocol): accepted forms in SI, one-line errors,
describe() round trips."""
import dataclasses

import pytest

from mb3d.protocol import (
    InitialState, Protocol, ProtocolError, RateSpec, Step, first_discharge, parse_initial_state,
    parse_output_times, parse_physics, parse_protocol, parse_rates, parse_step, rate_step_index,
)

H = 3600.0


def _fields(step: Step) -> dict:
    """A step's values without its text."""
    d = dataclasses.asdict(step)
    d.pop("text")
    return d


def S(kind, **kw) -> dict:
    return _fields(Step(kind, **kw))


# ------------------------------------------------------------------------------------------ accepted

@pytest.mark.parametrize("text,expected", [
    ("Discharge at 1C until 3.0 V", S("discharge", rate_C=1.0, until_voltage_V=3.0)),
    ("Discharge at 0.2 mA/cm2 until 3 V", S("discharge", current_density_A_m2=2.0, until_voltage_V=3.0)),
    ("Charge at C/2 until 4.2 V", S("charge", rate_C=0.5, until_voltage_V=4.2)),
    ("Hold at 4.2 V until C/20", S("hold", voltage_V=4.2, until_rate_C=0.05)),
    ("Rest for 10 minutes", S("rest", duration_s=600.0)),
    ("Discharge at 1C for 30 minutes", S("discharge", rate_C=1.0, duration_s=1800.0)),
    ("Discharge at 1C for 1 hour or until 3.0 V", S("discharge", rate_C=1.0, duration_s=H, until_voltage_V=3.0)),
    # PyBaMM also reads "for X until Y" without "or"; spacing and case are free
    ("Charge at 0.5 C for 2 hours until 4.1V", S("charge", rate_C=0.5, duration_s=2 * H, until_voltage_V=4.1)),
    ("  discharge  AT 1C  UNTIL 3000 mV ", S("discharge", rate_C=1.0, until_voltage_V=3.0)),
    ("DISCHARGE at C for 1 Hour", S("discharge", rate_C=1.0, duration_s=H)),
    ("Discharge at C/3 for 2 hours or until 2.5 V", S("discharge", rate_C=1 / 3, duration_s=2 * H,
                                                      until_voltage_V=2.5)),
    ("Hold at 4.1 V until 0.01 mA/cm2", S("hold", voltage_V=4.1, until_current_density_A_m2=0.1)),
    ("Hold at 4.2V for 1 h or until C/50", S("hold", voltage_V=4.2, duration_s=H, until_rate_C=0.02)),
    ("Hold at 4.2 V for 20 seconds", S("hold", voltage_V=4.2, duration_s=20.0)),
    ("Rest for 1 hour", S("rest", duration_s=H)),
    ("rest for 3600 s", S("rest", duration_s=H)),
    ("Charge at 2 A/m2 for 90 s", S("charge", current_density_A_m2=2.0, duration_s=90.0)),
])
def test_string_steps(text, expected):
    step = parse_step(text)
    assert _approx_equal(_fields(step), expected)
    assert step.text == text.strip()


def _approx_equal(a: dict, b: dict) -> bool:
    assert a.keys() == b.keys()
    for k, v in a.items():
        if isinstance(b[k], float):
            assert v == pytest.approx(b[k], rel=1e-12), k
        else:
            assert v == b[k], k
    return True


@pytest.mark.parametrize("raw,expected", [
    ({"discharge": "1C", "until": "3.0 V"}, S("discharge", rate_C=1.0, until_voltage_V=3.0)),
    ({"discharge": "0.2 mA/cm2", "until": "3 V"}, S("discharge", current_density_A_m2=2.0, until_voltage_V=3.0)),
    ({"charge": "0.5C", "until": 4.2}, S("charge", rate_C=0.5, until_voltage_V=4.2)),   # bare V
    ({"charge": "C/2", "for": "1 h", "until": "4200 mV"},
     S("charge", rate_C=0.5, duration_s=H, until_voltage_V=4.2)),
    ({"discharge": "2C", "for": 600}, S("discharge", rate_C=2.0, duration_s=600.0)),    # bare s
    ({"hold": "4.2 V", "until": "C/20"}, S("hold", voltage_V=4.2, until_rate_C=0.05)),
    ({"hold": 4.2, "until": "0.05C"}, S("hold", voltage_V=4.2, until_rate_C=0.05)),
    ({"hold": "4.2 V", "until": "0.01 mA/cm2", "for": "30 min"},
     S("hold", voltage_V=4.2, until_current_density_A_m2=0.1, duration_s=1800.0)),
    ({"hold": "4.2 V", "for": "1 h"}, S("hold", voltage_V=4.2, duration_s=H)),
    ({"rest": "10 min"}, S("rest", duration_s=600.0)),
    ({"rest": 30}, S("rest", duration_s=30.0)),
])
def test_mapping_steps(raw, expected):
    step = parse_step(raw)
    assert _approx_equal(_fields(step), expected)
    assert step.text == "{" + ", ".join(f"{k}: {v}" for k, v in raw.items()) + "}"


@pytest.mark.parametrize("rate,c,j", [
    ("1C", 1.0, None), ("0.5C", 0.5, None), ("1 C", 1.0, None), ("C/5", 0.2, None), ("C / 5", 0.2, None),
    ("C/20", 0.05, None), ("0.05C", 0.05, None), ("C", 1.0, None), ("2c", 2.0, None), ("1e-2C", 0.01, None),
    ("1000C", 1000.0, None), ("0.2 mA/cm2", None, 2.0), ("2 A/m2", None, 2.0), ("200 uA/cm2", None, 2.0),
    ("200 µA/cm2", None, 2.0), ("1 mA/cm^2", None, 10.0),
])
def test_rates(rate, c, j):
    step = parse_step({"discharge": rate, "until": "3 V"})
    assert step.rate_C == (pytest.approx(c, rel=1e-12) if c else None)
    assert step.current_density_A_m2 == (pytest.approx(j, rel=1e-12) if j else None)
    assert parse_step(f"Discharge at {rate} until 3 V") == dataclasses.replace(step, text=f"Discharge at {rate} until 3 V")


@pytest.mark.parametrize("duration,seconds", [
    ("10 min", 600.0), ("1 h", H), ("30 s", 30.0), ("1 hour", H), ("10 minutes", 600.0), ("2 hrs", 2 * H),
    ("1 day", 86400.0), ("10 Minutes", 600.0), ("1 H", H), (45, 45.0), ("1 year", 365.25 * 86400),
])
def test_durations(duration, seconds):
    assert parse_step({"rest": duration}).duration_s == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("voltage", ["3.0 V", "3000 mV", "3V", 3, 3.0, "3", "3 v", "3000 mv"])
def test_voltages(voltage):
    assert parse_step({"discharge": "1C", "until": voltage}).until_voltage_V == pytest.approx(3.0, rel=1e-12)
    assert parse_step({"hold": voltage, "for": "1 h"}).voltage_V == pytest.approx(3.0, rel=1e-12)


def test_protocol_list_and_spec_example():
    steps = parse_protocol([{"discharge": "1C", "until": "3.0 V"}, {"rest": "10 min"},
                            {"charge": "0.5C", "until": "4.2 V"}, {"hold": "4.2 V", "until": "C/20"},
                            "Rest for 10 minutes"])
    assert [s.kind for s in steps] == ["discharge", "rest", "charge", "hold", "rest"]
    assert [s.describe() for s in steps] == ["discharge at 1C until 3 V", "rest for 10 min",
                                             "charge at C/2 until 4.2 V", "hold at 4.2 V until C/20",
                                             "rest for 10 min"]
    assert first_discharge(steps) == (0, steps[0])
    assert first_discharge(steps[1:]) is None
    assert rate_step_index(steps[1:]) == 1


# -------------------------------------------------------------------------------------- currents

def test_currents_and_sign():
    one_c = 5.0  # A/m2
    d = parse_step("Discharge at C/5 until 3 V")
    c = parse_step("Charge at 0.2 mA/cm2 until 4.2 V")
    h = parse_step("Hold at 4.2 V until C/20")
    r = parse_step("Rest for 1 h")
    assert d.current_A_m2(one_c) == pytest.approx(1.0) and d.sign == 1
    assert c.current_A_m2(one_c) == pytest.approx(2.0) and c.sign == -1
    assert r.current_A_m2(one_c) == 0.0 and r.sign == 0
    assert h.sign == 0 and h.until_current_A_m2(one_c) == pytest.approx(0.25)
    assert parse_step("Hold at 4.2 V until 0.01 mA/cm2").until_current_A_m2(one_c) == pytest.approx(0.1)
    assert d.until_current_A_m2(one_c) is None
    with pytest.raises(ValueError, match="a hold step applies a voltage"):
        h.current_A_m2(one_c)
    with pytest.raises(ValueError, match="1C must be a positive current density"):
        d.current_A_m2(0.0)
    assert RateSpec("10C", 10.0).current_A_m2(one_c) == pytest.approx(50.0)
    assert RateSpec("0.2 mA/cm2", None, 2.0).current_A_m2(one_c) == 2.0


# -------------------------------------------------------------------------------- describe round trip

@pytest.mark.parametrize("raw", [
    "Discharge at 1C until 3.0 V", "Discharge at 0.2 mA/cm2 until 3 V", "Charge at C/2 until 4.2 V",
    "Hold at 4.2 V until C/20", "Rest for 10 minutes", "Discharge at 1C for 30 minutes",
    "Discharge at 1C for 1 hour or until 3.0 V", "Discharge at C/3 for 90 minutes or until 2.75 V",
    "Charge at 0.3C for 45 s", "Charge at 2.5C until 4.35 V", "Hold at 4.2 V for 1 h or until 3.3 uA/cm2",
    {"hold": 4.2, "until": "0.05C"}, {"discharge": "7 A/m2", "for": 5400}, {"rest": "1 day"},
    {"discharge": "1000C", "until": "10 V", "for": "1 year"}, {"discharge": "1e-3C", "until": 1e-3},
    {"charge": "C/7", "for": 0.5},
])
def test_describe_round_trip(raw):
    step = parse_step(raw)
    phrase = step.describe()
    assert phrase.split()[0] == step.kind
    again = parse_step(phrase)
    assert again.text == phrase
    assert _approx_equal(_fields(again), _fields(step))
    assert again.describe() == phrase


@pytest.mark.parametrize("raw,phrase", [
    ("Discharge at 1C until 3.0 V", "discharge at 1C until 3 V"),
    ({"discharge": "0.05C", "until": "2800 mV"}, "discharge at C/20 until 2.8 V"),
    ({"charge": "0.3C", "for": "1.5 h", "until": "4.2 V"}, "charge at 0.3C for 90 min or until 4.2 V"),
    ({"discharge": "2 A/m2", "for": 61}, "discharge at 0.2 mA/cm2 for 61 s"),
    ({"hold": "4.2 V", "until": "0.01 mA/cm2"}, "hold at 4.2 V until 0.01 mA/cm2"),
    ({"rest": "2 days"}, "rest for 48 h"),
    ({"rest": "0.5 s"}, "rest for 0.5 s"),
])
def test_describe_phrases(raw, phrase):
    assert parse_step(raw).describe() == phrase


# ----------------------------------------------------------------------------------------- errors

K = "physics.protocol[0]"
EX = ("'Discharge at 1C until 3.0 V', 'Charge at C/2 for 1 hour or until 4.2 V', 'Hold at 4.2 V until "
      "C/20' or 'Rest for 10 minutes'")
RATE = "must be a C-rate (e.g. 1C, C/5) or a current density (e.g. 0.2 mA/cm2)"
HOLD_UNTIL = "must be a C-rate (e.g. C/20) or a current density (e.g. 0.01 mA/cm2) for a hold step"
DUR = "must be a duration (e.g. 30 s, 10 min, 1 h)"


@pytest.mark.parametrize("raw,message", [
    # mappings: kinds and keys
    ({"dischrge": "1C"}, f"{K}.dischrge: unknown key (allowed: discharge, charge, hold, rest, until, for)"),
    ({"until": "3 V"}, f'{K} = {{"until": "3 V"}}: must name its kind: one of discharge, charge, hold, rest'),
    ({}, f"{K} = {{}}: must name its kind: one of discharge, charge, hold, rest"),
    ({"discharge": "1C", "charge": "1C", "until": 3},
     f'{K} = {{"discharge": "1C", "charge": "1C", "until": 3}}: one kind per step, not discharge and charge'),
    ({"discharge": "1C", "until": "3 V", "at": 1}, f"{K}.at: unknown key for a discharge step (allowed: discharge, "
                                                   "until, for)"),
    ({"rest": "10 min", "until": "3 V"}, f"{K}.until: unknown key for a rest step (allowed: rest): a rest ends after "
                                         "its duration"),
    ({"rest": "10 min", "for": "1 h"}, f"{K}.for: unknown key for a rest step (allowed: rest): a rest ends after its "
                                       "duration"),
    ({"Discharge": "1C", "until": 3}, f"{K}.Discharge: unknown key (allowed: discharge, charge, hold, rest, until, "
                                      "for)"),
    # a step must end
    ({"discharge": "1C"}, f'{K} = {{"discharge": "1C"}}: a discharge step needs until (a voltage, e.g. 3.0 V), for '
                          "(a duration, e.g. 1 h) or both"),
    ({"charge": "1C"}, f'{K} = {{"charge": "1C"}}: a charge step needs until (a voltage, e.g. 4.2 V), for (a '
                       "duration, e.g. 1 h) or both"),
    ({"hold": "4.2 V"}, f'{K} = {{"hold": "4.2 V"}}: a hold step needs until (a current, e.g. C/20), for (a '
                        "duration, e.g. 1 h) or both"),
    # rates
    ({"discharge": 2, "until": 3}, f"{K}.discharge = 2: {RATE}: a bare number has no unit"),
    ({"discharge": "2", "until": 3}, f"{K}.discharge = '2': {RATE}: a bare number has no unit"),
    ({"discharge": "50 mA", "until": 3}, f"{K}.discharge = '50 mA': {RATE}, not a current: the model works per "
                                         "footprint area"),
    ({"discharge": "3 V", "until": 3}, f"{K}.discharge = '3 V': {RATE}"),
    ({"discharge": None, "until": 3}, f"{K}.discharge = None: {RATE}"),
    ({"discharge": "fast", "until": 3}, f"{K}.discharge = 'fast': {RATE}"),
    ({"discharge": "0C", "until": 3}, f"{K}.discharge = '0C': must be a C-rate in (0, 1000]"),
    ({"discharge": "-1C", "until": 3}, f"{K}.discharge = '-1C': must be a C-rate in (0, 1000]"),
    ({"discharge": "1001C", "until": 3}, f"{K}.discharge = '1001C': must be a C-rate in (0, 1000]"),
    ({"discharge": "C/0", "until": 3}, f"{K}.discharge = 'C/0': must be a C-rate in (0, 1000]"),
    ({"charge": "0 mA/cm2", "until": 4}, f"{K}.charge = '0 mA/cm2': must be in (0, 10000] mA/cm2"),
    ({"charge": "-1 mA/cm2", "until": 4}, f"{K}.charge = '-1 mA/cm2': must be in (0, 10000] mA/cm2"),
    ({"charge": "20 A/cm2", "until": 4}, f"{K}.charge = '20 A/cm2': must be in (0, 10000] mA/cm2"),
    # voltages
    ({"discharge": "1C", "until": "3 A"}, f"{K}.until = '3 A': must be a voltage (e.g. 3.0 V) for a discharge step"),
    ({"charge": "1C", "until": "C/20"}, f"{K}.until = 'C/20': must be a voltage (e.g. 4.2 V) for a charge step"),
    ({"discharge": "1C", "until": "1 h"}, f"{K}.until = '1 h': must be a voltage (e.g. 3.0 V) for a discharge step; "
                                          "a duration goes under for"),
    ({"discharge": "1C", "until": "0 V"}, f"{K}.until = '0 V': must be in (0, 10] V"),
    ({"discharge": "1C", "until": -3}, f"{K}.until = -3: must be in (0, 10] V"),
    ({"discharge": "1C", "until": "10.5 V"}, f"{K}.until = '10.5 V': must be in (0, 10] V"),
    ({"hold": "1 mA/cm2", "for": "1 h"}, f"{K}.hold = '1 mA/cm2': must be a voltage (e.g. 4.2 V)"),
    ({"hold": "42 V", "for": "1 h"}, f"{K}.hold = '42 V': must be in (0, 10] V"),
    ({"hold": "4.2 V", "until": "3 V"}, f"{K}.until = '3 V': {HOLD_UNTIL}"),
    ({"hold": "4.2 V", "until": 0.05}, f"{K}.until = 0.05: {HOLD_UNTIL}: a bare number has no unit"),
    ({"hold": "4.2 V", "until": "1 mA"}, f"{K}.until = '1 mA': {HOLD_UNTIL}, not a current: the model works per "
                                         "footprint area"),
    ({"hold": "4.2 V", "until": "C/0"}, f"{K}.until = 'C/0': must be a C-rate in (0, 1000]"),
    # durations
    ({"rest": "10 parsec"}, f"{K}.rest = '10 parsec': {DUR}"),
    ({"rest": "10 m"}, f"{K}.rest = '10 m': {DUR}: m is metres, write min"),
    ({"rest": None}, f"{K}.rest = None: {DUR}"),
    ({"rest": True}, f"{K}.rest = True: {DUR}"),
    ({"rest": "0 s"}, f"{K}.rest = '0 s': must be in (0 s, 1 year]"),
    ({"rest": -5}, f"{K}.rest = -5: must be in (0 s, 1 year]"),
    ({"discharge": "1C", "for": "2 years"}, f"{K}.for = '2 years': must be in (0 s, 1 year]"),
    ({"discharge": "1C", "for": "3 V"}, f"{K}.for = '3 V': {DUR}"),
    # not a step
    (3, f"{K} = 3: must be a step: a mapping such as {{discharge: 1C, until: 3.0 V}} or a string such as "
        "'Discharge at 1C until 3.0 V'"),
    (["Rest for 1 h"], f'{K} = ["Rest for 1 h"]: must be a step: a mapping such as {{discharge: 1C, until: 3.0 V}} '
                       "or a string such as 'Discharge at 1C until 3.0 V'"),
    # strings
    ("Relax for 10 minutes", f"{K} = 'Relax for 10 minutes': unknown step kind 'Relax' (known: discharge, charge, "
                             "hold, rest)"),
    ("Discharging at 1C until 3 V", f"{K} = 'Discharging at 1C until 3 V': unknown step kind 'Discharging' (known: "
                                    "discharge, charge, hold, rest)"),
    ("", f"{K} = '': must read like {EX}"),
    ("1C until 3 V", f"{K} = '1C until 3 V': must read like {EX}"),
    ("Discharge 1C until 3 V", f"{K} = 'Discharge 1C until 3 V': must read like {EX}"),
    ("Discharge at 1C", f"{K} = 'Discharge at 1C': a discharge step needs 'until 3.0 V', 'for 1 hour' or both ('for "
                        "1 hour or until 3.0 V')"),
    ("Hold at 4.2 V", f"{K} = 'Hold at 4.2 V': a hold step needs 'until C/20', 'for 1 hour' or both ('for 1 hour or "
                      "until C/20')"),
    ("Discharge for 1 hour", f"{K} = 'Discharge for 1 hour': a discharge step needs a rate: 'Discharge at 1C ...'"),
    ("Hold until C/20", f"{K} = 'Hold until C/20': a hold step needs a voltage: 'Hold at 4.2 V ...'"),
    ("Rest until 3.8 V", f"{K} = 'Rest until 3.8 V': a rest step ends after its duration: write e.g. 'Rest for 10 "
                         "minutes'"),
    ("Rest", f"{K} = 'Rest': a rest step ends after its duration: write e.g. 'Rest for 10 minutes'"),
    ("Rest at 1C for 1 h", f"{K} = 'Rest at 1C for 1 h': a rest step ends after its duration: write e.g. 'Rest for "
                           "10 minutes'"),
    ("Discharge at 1 A until 3 V", f"{K} = 'Discharge at 1 A until 3 V': at '1 A' {RATE}, not a current: the model "
                                   "works per footprint area"),
    ("Discharge at 2 until 3 V", f"{K} = 'Discharge at 2 until 3 V': at '2' {RATE}: a bare number has no unit"),
    ("Charge at 1 W for 1 h", f"{K} = 'Charge at 1 W for 1 h': at '1 W' {RATE}"),
    ("Discharge at 1C until 3 A", f"{K} = 'Discharge at 1C until 3 A': until '3 A' must be a voltage (e.g. 3.0 V) "
                                  "for a discharge step"),
    ("Discharge at 1C until 3 V or for 1 h", f"{K} = 'Discharge at 1C until 3 V or for 1 h': until '3 V or for 1 h' "
                                             "must be a voltage (e.g. 3.0 V) for a discharge step"),
    ("Hold at 4.2 V until 4 V", f"{K} = 'Hold at 4.2 V until 4 V': until '4 V' {HOLD_UNTIL}"),
    ("Hold at 42 V until C/20", f"{K} = 'Hold at 42 V until C/20': at '42 V' must be in (0, 10] V"),
    ("Rest for 10 m", f"{K} = 'Rest for 10 m': for '10 m' {DUR}: m is metres, write min"),
    ("Discharge at 1C for 0 s", f"{K} = 'Discharge at 1C for 0 s': for '0 s' must be in (0 s, 1 year]"),
    ("Discharge at 2000C until 3 V", f"{K} = 'Discharge at 2000C until 3 V': at '2000C' must be a C-rate in (0, "
                                     "1000]"),
    ("Discharge at 1C for 1 hour (1 minute period)", f"{K} = 'Discharge at 1C for 1 hour (1 minute period)': a step "
                                                     "takes no output period: set physics.output_times"),
    ("Charge at 1C until 4.2 V at 25oC", f"{K} = 'Charge at 1C until 4.2 V at 25oC': a step takes no temperature: "
                                         "set physics.temperature"),
])
def test_step_errors(raw, message):
    with pytest.raises(ProtocolError) as e:
        parse_step(raw)
    assert str(e.value) == message
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value)


def test_error_names_the_step_index():
    with pytest.raises(ProtocolError) as e:
        parse_protocol([{"rest": "1 h"}, "Rest for 1 h", {"discharge": "1C", "until": "3 A"}])
    assert str(e.value) == "physics.protocol[2].until = '3 A': must be a voltage (e.g. 3.0 V) for a discharge step"
    assert (e.value.key, e.value.value) == ("physics.protocol[2].until", "3 A")
    assert e.value.rule == "must be a voltage (e.g. 3.0 V) for a discharge step"


@pytest.mark.parametrize("raw,message", [
    ([], "physics.protocol = []: must be a non-empty list of steps, e.g. [{discharge: 1C, until: 3.0 V}, {rest: 10 "
         "min}]"),
    (None, "physics.protocol = None: must be a non-empty list of steps, e.g. [{discharge: 1C, until: 3.0 V}, {rest: "
           "10 min}]"),
    ("Rest for 1 h", "physics.protocol = 'Rest for 1 h': must be a non-empty list of steps, e.g. [{discharge: 1C, "
                     "until: 3.0 V}, {rest: 10 min}]"),
    ({"rest": "1 h"}, 'physics.protocol = {"rest": "1 h"}: must be a non-empty list of steps, e.g. [{discharge: 1C, '
                      "until: 3.0 V}, {rest: 10 min}]"),
])
def test_protocol_errors(raw, message):
    with pytest.raises(ProtocolError) as e:
        parse_protocol(raw)
    assert str(e.value) == message


def test_too_many_steps_and_rates():
    """A long list is shown cut to 60 characters."""
    with pytest.raises(ProtocolError) as e:
        parse_protocol(["Rest for 1 s"] * 1001)
    assert str(e.value) == 'physics.protocol = ["Rest for 1 s", "Rest for 1 s", "Rest for 1 s", "Rest fo...: at most 1000 steps'
    assert len(parse_protocol(["Rest for 1 s"] * 1000)) == 1000
    with pytest.raises(ProtocolError) as e:
        parse_rates([f"{i}C" for i in range(1, 102)])
    assert str(e.value) == 'physics.rates = ["1C", "2C", "3C", "4C", "5C", "6C", "7C", "8C", "9C", "1...: at most 100 rates'


# ------------------------------------------------------------------------------- rates, state, times

def test_parse_rates():
    rates = parse_rates(["0.1C", "1 C", "C/5", "0.2 mA/cm2", "10C"])
    assert [r.text for r in rates] == ["0.1C", "1 C", "C/5", "0.2 mA/cm2", "10C"]
    assert [r.rate_C for r in rates] == [pytest.approx(0.1), 1.0, pytest.approx(0.2), None, 10.0]
    assert rates[3].current_density_A_m2 == pytest.approx(2.0)
    assert [r.describe() for r in rates] == ["C/10", "1C", "C/5", "0.2 mA/cm2", "10C"]


@pytest.mark.parametrize("raw,message", [
    ([], "physics.rates = []: must be a non-empty list of C-rates or current densities, e.g. [0.1C, 1C, 10C]"),
    ("1C", "physics.rates = '1C': must be a non-empty list of C-rates or current densities, e.g. [0.1C, 1C, 10C]"),
    (["1C", 2], f"physics.rates[1] = 2: {RATE}: a bare number has no unit"),
    (["1C", "3 V"], f"physics.rates[1] = '3 V': {RATE}"),
    (["1C", "0C"], "physics.rates[1] = '0C': must be a C-rate in (0, 1000]"),
    (["1C", "1 C"], "physics.rates[1] = '1 C': repeats physics.rates[0] (the runs are keyed by rate)"),
    (["0.05C", "C/20"], "physics.rates[1] = 'C/20': repeats physics.rates[0] (the runs are keyed by rate)"),
])
def test_rates_errors(raw, message):
    with pytest.raises(ProtocolError) as e:
        parse_rates(raw)
    assert str(e.value) == message


@pytest.mark.parametrize("raw,state", [
    ("charged", InitialState("charged")), ("discharged", InitialState("discharged")),
    ({"x_cathode": 0.5, "x_anode": 0.1}, InitialState("fractions", 0.5, 0.1)),
    ({"x_cathode": 1}, InitialState("fractions", 1.0, None)),
    ({"x_anode": 0}, InitialState("fractions", None, 0.0)),
])
def test_initial_state(raw, state):
    assert parse_initial_state(raw) == state
    assert parse_initial_state(state.normalized()) == state


R_STATE = "must be charged, discharged or a mapping {x_cathode: 0.5, x_anode: 0.1} (Li fractions in [0, 1])"


@pytest.mark.parametrize("raw,message", [
    ("full", f"physics.initial_state = 'full': {R_STATE}"),
    ("Charged", f"physics.initial_state = 'Charged': {R_STATE}"),
    (0.5, f"physics.initial_state = 0.5: {R_STATE}"),
    ({}, f"physics.initial_state = {{}}: {R_STATE}"),
    ({"x_cathode": 0.5, "x_separator": 0}, "physics.initial_state.x_separator: unknown key (allowed: x_cathode, "
                                           "x_anode)"),
    ({"x_cathode": 1.5}, "physics.initial_state.x_cathode = 1.5: must be a Li fraction c/c_max in [0, 1]"),
    ({"x_cathode": -0.1}, "physics.initial_state.x_cathode = -0.1: must be a Li fraction c/c_max in [0, 1]"),
    ({"x_anode": "0.5"}, "physics.initial_state.x_anode = '0.5': must be a Li fraction c/c_max in [0, 1]"),
    ({"x_anode": True}, "physics.initial_state.x_anode = True: must be a Li fraction c/c_max in [0, 1]"),
])
def test_initial_state_errors(raw, message):
    with pytest.raises(ProtocolError) as e:
        parse_initial_state(raw)
    assert str(e.value) == message


@pytest.mark.parametrize("raw,times", [
    (20, 20), (1, 1), (10000, 10000),
    ([0, 60, "10 min", "1 h"], (0.0, 60.0, 600.0, H)), (["0 s", "1.5 h"], (0.0, 5400.0)), ((5,), (5.0,)),
])
def test_output_times(raw, times):
    assert parse_output_times(raw) == times


R_TIMES = "must be a count of snapshots in [1, 10000] or a list of increasing times (e.g. [0 s, 10 min, 1 h])"


@pytest.mark.parametrize("raw,message", [
    (0, f"physics.output_times = 0: {R_TIMES}"), (-3, f"physics.output_times = -3: {R_TIMES}"),
    (10001, f"physics.output_times = 10001: {R_TIMES}"), (True, f"physics.output_times = True: {R_TIMES}"),
    (2.5, f"physics.output_times = 2.5: {R_TIMES}"), ("20", f"physics.output_times = '20': {R_TIMES}"),
    ([], f"physics.output_times = []: {R_TIMES}"),
    ([0, "1 h", "30 min"], "physics.output_times[2] = '30 min': must be later than physics.output_times[1] (times "
                           "increase)"),
    ([0, 0], "physics.output_times[1] = 0: must be later than physics.output_times[0] (times increase)"),
    ([-1, 0], "physics.output_times[0] = -1: must be in [0 s, 1 year]"),
    (["2 years"], "physics.output_times[0] = '2 years': must be in [0 s, 1 year]"),
    (["1C"], f"physics.output_times[0] = '1C': {DUR}"),
    ([0, None], f"physics.output_times[1] = None: {DUR}"),
])
def test_output_times_errors(raw, message):
    with pytest.raises(ProtocolError) as e:
        parse_output_times(raw)
    assert str(e.value) == message


# ---------------------------------------------------------------------------------------- protocol

def test_parse_physics_and_runs():
    physics = {"model": "transient", "temperature": "25 degC",
               "protocol": [{"rest": "1 min"}, {"discharge": "1C", "until": "3.0 V"}, {"rest": "10 min"},
                            "Charge at C/2 until 4.2 V"],
               "rates": ["0.1C", "10C", "0.2 mA/cm2"], "initial_state": {"x_cathode": 0.5, "x_anode": 0.1},
               "output_times": ["0 s", "30 min"]}
    p = parse_physics(physics)
    assert p.initial_state == InitialState("fractions", 0.5, 0.1)
    assert p.output_times == (0.0, 1800.0)
    runs = p.runs()
    assert [k for k, _ in runs] == ["0.1C", "10C", "0.2 mA/cm2"]
    for (_, steps), (c, j) in zip(runs, [(0.1, None), (10.0, None), (None, 2.0)]):
        assert steps[0] == p.steps[0] and steps[2:] == p.steps[2:]        # only the first discharge changes
        assert steps[1].rate_C == (pytest.approx(c) if c else None)
        assert steps[1].current_density_A_m2 == (pytest.approx(j) if j else None)
        assert steps[1].until_voltage_V == 3.0
    assert runs[1][1][1].text == "discharge at 10C until 3 V"
    # normalized() is a valid physics block giving back the same protocol
    norm = p.normalized()
    assert norm == {"protocol": ["rest for 1 min", "discharge at 1C until 3 V", "rest for 10 min",
                                 "charge at C/2 until 4.2 V"],
                    "rates": ["0.1C", "10C", "0.2 mA/cm2"], "initial_state": {"x_cathode": 0.5, "x_anode": 0.1},
                    "output_times": [0.0, 1800.0]}
    again = parse_physics(norm)
    assert [_fields(s) for s in again.steps] == [_fields(s) for s in p.steps]
    assert (again.rates, again.initial_state, again.output_times) == (p.rates, p.initial_state, p.output_times)


def test_parse_physics_defaults_and_errors():
    p = parse_physics({"protocol": ["Discharge at 1C until 3 V"]})
    assert (p.rates, p.initial_state, p.output_times) == (None, InitialState("charged"), 20)
    assert p.runs() == ((None, p.steps),)
    assert p == Protocol(p.steps)
    with pytest.raises(ProtocolError) as e:
        parse_physics({"model": "transient"})
    assert str(e.value) == ("physics.protocol: missing: the transient model needs a list of steps, e.g. "
                            "[{discharge: 1C, until: 3.0 V}]")
    with pytest.raises(ProtocolError) as e:
        parse_physics({"protocol": ["Hold at 4.2 V until C/20", "Rest for 1 h"], "rates": ["1C"]})
    assert str(e.value) == ('physics.rates = ["1C"]: needs a discharge or charge step in physics.protocol (its rate '
                            "is replaced by each rate in turn)")
    with pytest.raises(ProtocolError) as e:
        parse_physics({"protocol": ["Rest for 1 h"], "output_times": 0})
    assert str(e.value).startswith("physics.output_times = 0: ")
