"""Property: a broken case file is refused in one line with exit code 2 (issue 15).

Hypothesis draws a committed case from ``cases/`` and breaks it with one mutation that makes it
invalid whatever key it hits: a leaf replaced by a value of a wrong type, by a quantity of a dimension
no key has, or by a number out of every range; a material property or a physics value beyond its
range; a non-UTF-8 byte or UTF-16; an unknown key at some level, a required key removed, the document
truncated or turned into a list. ``mb3d validate`` must
answer with exactly one line starting with ``error:`` and exit code 2, never a traceback.

More examples: ``MB3D_HYPOTHESIS_EXAMPLES=2000 pytest tests/test_mutations.py``.
"""
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mb3d.cli import main
from solvers.materials import PROPERTIES

ROOT = Path(__file__).parent.parent
CASES = sorted((ROOT / "cases").glob("*.yaml"))
EXAMPLES = int(os.environ.get("MB3D_HYPOTHESIS_EXAMPLES", "300"))

#: replacements that no key accepts: a mapping with an unknown key, a quantity of mass x time, a
#: number below every range (negative lengths, counts, fractions; beyond +-100 V and -100 degC)
BAD_LEAVES = [{"zz_unknown": {"deeper": 1}}, "3 kg*s", -1e300, [[["x"]]]]


def leaves(node, path=()):
    """Paths of the leaves of a case mapping (the ``expected`` block excluded: it is never run)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if path == () and k == "expected":
                continue
            yield from leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaves(v, path + (i,))
    else:
        yield path


def mappings(node, path=()):
    if isinstance(node, dict):
        if path[:1] != ("expected",):
            yield path
        for k, v in node.items():
            yield from mappings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from mappings(v, path + (i,))


def at(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def broken(draw):
    """Bytes of a broken case file and the kind of mutation."""
    raw = yaml.safe_load(draw(st.sampled_from(CASES)).read_text())
    raw.pop("expected", None)
    kind = draw(st.sampled_from(["leaf", "property", "physics", "unknown_key", "missing", "utf8", "utf16",
                                 "truncate", "list"]))
    if kind == "property":     # a material property beyond its range
        role = draw(st.sampled_from(["electrolyte", "anode", "cathode"]))
        prop = draw(st.sampled_from(sorted(PROPERTIES["electrolyte" if role == "electrolyte" else "electrode"])))
        base = {"electrolyte": "LiPON", "anode": "Li", "cathode": "LiCoO2"}[role]
        raw.setdefault("materials", {})[role] = {"base": base, prop: draw(st.sampled_from([-1e300, 1e300]))}
    elif kind == "physics":    # an operating value beyond its range (or a key of the other model)
        key = draw(st.sampled_from(["voltage", "current_density", "temperature", "cell_voltage"]))
        raw.setdefault("physics", {})[key] = draw(st.sampled_from([-1e300, 1e300, "1e9 V", "-300 degC"]))
    elif kind == "leaf":
        path = draw(st.sampled_from(list(leaves(raw))))
        at(raw, path[:-1])[path[-1]] = draw(st.sampled_from(BAD_LEAVES))
    elif kind == "unknown_key":
        path = draw(st.sampled_from(list(mappings(raw))))
        at(raw, path)["zz_" + draw(st.text("abcxyz", min_size=1, max_size=6))] = 1
    elif kind == "missing":
        raw.pop(draw(st.sampled_from(["name", "architecture"])))
    text = yaml.safe_dump(raw, sort_keys=False)
    if kind == "utf8":
        at_line = draw(st.integers(0, text.count("\n")))
        lines = text.split("\n")
        lines.insert(at_line, "# caf\u00e9")
        return "\n".join(lines).encode("latin-1"), kind
    if kind == "utf16":
        return text.encode("utf-16"), kind
    if kind == "truncate":     # cut inside a flow mapping: always unbalanced
        return (text.replace("\n", " ", 1).split("\n", 1)[0] + "\ngeometry: {pitch: [1, 2\n").encode(), kind
    if kind == "list":
        return yaml.safe_dump([raw]).encode(), kind
    return text.encode(), kind


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(broken())
def test_broken_case_is_one_line_exit_2(tmp_path, capsys, case):
    data, kind = case
    p = tmp_path / "case.yaml"
    p.write_bytes(data)
    code = main(["validate", str(p), "--no-geometry"])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (kind, data[:400], captured.err, captured.out)
    assert len(lines) == 1 and lines[0].startswith("error: "), (kind, captured.err)
    assert "Traceback" not in captured.err
