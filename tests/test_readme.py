"""Every ```python block of README.md and of each page of docs/ runs, in order, as one script per
file, from the repository root.

The blocks of a file share one namespace (a later block uses what an earlier one defined); each file
starts afresh. A block whose first line is ``# not run`` is skipped. The examples make their output
folders with :mod:`tempfile`, which here points into pytest's temporary folder, so nothing is written
into the repository. A failing block fails the test with a traceback that names the file and its line.
The shell commands of the same files run in tests/test_docs.py.
"""
import re
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
#: README.md and the documentation pages that have a python block to run
PAGES = [p for p in [README, *sorted((ROOT / "docs").rglob("*.md"))] if "```python" in p.read_text(encoding="utf-8")]
SKIP = "# not run"
#: an opening fence ```python (indented or not) up to the closing fence at the same indentation
FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line of the block's first line in the file, dedented source)`` of every ```python block."""
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start("body")) + 1
        blocks.append((line, textwrap.dedent(m.group("body"))))
    return blocks


def skipped(source: str) -> bool:
    return source.splitlines()[0].strip() == SKIP if source.strip() else True


def test_block_extraction():
    text = ("intro\n```python\nx = 1\n```\n```sh\nls\n```\n  ```python\n  # not run\n  boom()\n  ```\n"
            "```python\ny = x + 1\n```\n")
    blocks = python_blocks(text)
    assert [line for line, _ in blocks] == [3, 9, 13]
    assert [src for _, src in blocks] == ["x = 1\n", "# not run\nboom()\n", "y = x + 1\n"]
    assert [skipped(src) for _, src in blocks] == [False, True, False]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_python_blocks_run(page, monkeypatch, tmp_path):
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    to_run = [(line, src) for line, src in blocks if not skipped(src)]
    assert to_run, f"{page.name} has no python example to run"
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))     # the examples' output folders
    namespace = {"__name__": "__main__"}
    name = str(page.relative_to(ROOT))
    for line, src in to_run:
        # pad with blank lines so that tracebacks give the line numbers of the file
        code = compile("\n" * (line - 1) + src, str(page), "exec")
        try:
            exec(code, namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"the python block at {name} line {line} failed: {type(exc).__name__}: {exc}")


def test_readme_has_python_examples():
    assert README in PAGES
