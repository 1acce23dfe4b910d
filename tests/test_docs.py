"""Every shell command that README.md and docs/ show runs, and prints what they say it prints.

Where commands are found: README.md and every ``docs/**/*.md``, in fenced blocks whose language is
``sh``, ``bash``, ``shell`` or ``console`` (other blocks, ``text`` or ``yaml``, are not commands):

* ``sh``, ``bash``, ``shell``: every line is a command; a line ending in a backslash continues on the
  next, ``#`` starts a comment, blank lines are skipped. No output is shown, so only the exit code is
  checked.
* ``console``: a line starting with ``$ `` is a command (a backslash at its end continues it on the
  next line); the lines after it, up to the next ``$ `` line or the end of the block, are its output
  as the page shows it.

The rule for what runs:

* a command whose program is ``mb3d`` or ``python -m mb3d`` runs, as ``sys.executable -m mb3d ARGS``
  (split with :mod:`shlex`, no shell), in the page's order, in a new temporary folder per page in
  which ``mb3d examples cases`` ran first and the repository's ``studies/`` was copied, so that the
  pages' ``cases/...`` and ``studies/...`` paths work as in a clone. A page's commands may use what an
  earlier command of the same page wrote (``mb3d view out/demo`` after ``mb3d run ... --out out/demo``),
  never what another page wrote;
* ``make TARGET ...`` does not run (``make test`` would run this test, and the other targets set up
  the environment or take minutes); every target it names must be a target of the Makefile;
* the exact commands of :data:`NOT_RUN` do not run (installing mb3d), and each must be on a page;
* any other command fails the test: a new command in the docs is either run here or listed.

Files: a fenced block with a ``title="NAME"`` (```yaml title="planar_thickness.yaml"``, shown by the
site as the block's title) is a file the page asks the reader to write; it is written to NAME in the
page's folder before the page's commands run.

The checks: the exit code is 0, unless the shown output has a line starting with ``error:`` (a
documented failure: then the exit code must not be 0). Shown output is compared with the command's
stdout and stderr together, as a whole: a run of whitespace (line breaks included, since the terminal
width may wrap lines) counts as one space, ``...`` stands for any text (an elided part of a line, or
elided lines), and otherwise the output must match from its first to its last character. Commands
run with ``COLUMNS=120``.

Time: the pages run two at a time (each in its own folder, in a background thread; each command is
its own process), all of them started by the first page's test. About a minute and a half on 2
cores: keep the pages' commands quick (coarse meshes, small domains, ``--no-images`` where the
pictures are not the point).

The ``python`` blocks of the same pages run in tests/test_readme.py.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL = ("sh", "bash", "shell")
#: a fenced block (indented or not) with its language, up to the closing fence at the same indentation
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                   re.M | re.S)
#: the title of a fenced block that is a file: ```yaml title="planar_thickness.yaml"
TITLE = re.compile(r'title="(?P<name>[^"]+)"')
#: commands that the pages show and that do not run here (setting up an environment)
NOT_RUN = {
    "pip install .",                  # getting-started.md: installing is what the test environment did
}


@dataclass
class Command:
    line: int                         # line of the page where the command starts
    text: str                         # as shown, continuation lines joined
    output: str | None = None         # the output a console block shows (None: not shown)
    argv: list[str] = field(default_factory=list)


def files(text: str) -> dict[str, str]:
    """The blocks of a page that carry a ``title="NAME"``: NAME -> content."""
    out = {}
    for m in FENCE.finditer(text):
        t = TITLE.search(m.group("info"))
        if t:
            out[t.group("name")] = textwrap.dedent(m.group("body"))
    return out


def _join_continued(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for n, text in lines:
        if pending is not None:
            n, text = pending[0], pending[1] + " " + text.strip()
            pending = None
        if text.rstrip().endswith("\\"):
            pending = (n, text.rstrip()[:-1].rstrip())
            continue
        out.append((n, text))
    if pending is not None:
        out.append(pending)
    return out


def commands(text: str) -> list[Command]:
    """The commands of a page's sh/bash/shell/console blocks, in order."""
    found: list[Command] = []
    for m in FENCE.finditer(text):
        lang = m.group("lang")
        if lang not in (*SHELL, "console"):
            continue
        first = text.count("\n", 0, m.start("body")) + 1
        body = textwrap.dedent(m.group("body")).splitlines()
        if lang in SHELL:
            lines = [(first + k, s) for k, s in enumerate(body)]
            for n, s in _join_continued(lines):
                words = shlex.split(s, comments=True)
                if words:
                    found.append(Command(n, _strip_comment(s), None, words))
            continue
        k = 0
        while k < len(body):
            if not body[k].startswith("$ "):
                if body[k].strip():
                    raise ValueError(f"line {first + k}: console output before any '$ ' command: {body[k]!r}")
                k += 1
                continue
            start, cmd = first + k, body[k][2:]
            while cmd.rstrip().endswith("\\") and k + 1 < len(body):
                k += 1
                cmd = cmd.rstrip()[:-1].rstrip() + " " + body[k].strip()
            k += 1
            output = []
            while k < len(body) and not body[k].startswith("$ "):
                output.append(body[k])
                k += 1
            found.append(Command(start, cmd.strip(), "\n".join(output), shlex.split(cmd, comments=True)))
    return found


def _strip_comment(line: str) -> str:
    """A shell line without its trailing comment (a ``#`` outside quotes after whitespace)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip()
    return line.strip()


def output_matches(shown: str, actual: str) -> bool:
    """Whether the actual output is what the page shows: whitespace runs are one space, ``...`` is any
    text, the rest must match from the first character to the last."""
    flat = " ".join(actual.split())
    parts = [re.escape(" ".join(p.split())) for p in " ".join(shown.split()).split("...")]
    return re.fullmatch(r"\s*" + r".*?".join(parts) + r"\s*", flat, re.S) is not None


def kind(cmd: Command) -> str:
    """``mb3d`` (runs), ``make`` (target checked) or ``listed`` (in NOT_RUN); else ``unknown``."""
    w = cmd.argv
    if w[:1] == ["mb3d"] or (len(w) >= 3 and w[0] in ("python", "python3") and w[1:3] == ["-m", "mb3d"]):
        return "mb3d"
    if w[:1] == ["make"]:
        return "make"
    return "listed" if cmd.text in NOT_RUN else "unknown"


def mb3d_args(cmd: Command) -> list[str]:
    return cmd.argv[1:] if cmd.argv[0] == "mb3d" else cmd.argv[3:]


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.M))


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="120", PYTHONIOENCODING="utf-8")
    env.pop("MB3D_DEBUG", None)
    return env


def run_mb3d(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mb3d", *args], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, encoding="utf-8", stdin=subprocess.DEVNULL,
                          timeout=TIMEOUT_S)


# --- the rules themselves ---------------------------------------------------------------------------
def test_extraction():
    page = ("intro\n```sh\nmb3d list            # architectures\n\nmake demo\nmb3d run a.yaml \\\n"
            "    --set 'x=1 2'\n```\n```yaml\nname: x\n```\n```console\n$ mb3d validate c.yaml\nok: ...\n"
            "$ mb3d run c.yaml --set a=0\nerror: a = 0: bad\n```\n  ```console\n  $ python -m mb3d list\n  ```\n")
    found = commands(page)
    assert [(c.line, c.text) for c in found] == [
        (3, "mb3d list"), (5, "make demo"), (6, "mb3d run a.yaml --set 'x=1 2'"),
        (13, "mb3d validate c.yaml"), (15, "mb3d run c.yaml --set a=0"), (19, "python -m mb3d list")]
    assert found[2].argv == ["mb3d", "run", "a.yaml", "--set", "x=1 2"]
    assert [c.output for c in found] == [None, None, None, "ok: ...", "error: a = 0: bad", ""]
    assert [kind(c) for c in found] == ["mb3d", "make", "mb3d", "mb3d", "mb3d", "mb3d"]
    assert mb3d_args(found[-1]) == ["list"]
    assert files('```yaml title="s/a.yaml"\nname: a\n```\n```yaml\nname: b\n```\n') == {"s/a.yaml": "name: a\n"}


def test_output_matching():
    actual = "┏━━┓\n│ ASR (ohm cm2)     │   43.48 │\n│ wall time (s) │ 0.3 │\nwrote out/x/: a,\nb\n"
    assert output_matches("...\n│ ASR (ohm cm2) │ 43.48 │\n│ wall time (s) │ ...\nwrote out/x/: a, b", actual)
    assert output_matches("┏━━┓\n...\nwrote out/x/: a, b", actual)
    assert not output_matches("│ ASR (ohm cm2) │ 43.48 │", actual)               # not the whole output
    assert not output_matches("...\n│ ASR (ohm cm2) │ 43.49 │\n...", actual)
    assert output_matches("...", actual) and output_matches("", "")


def test_every_command_is_run_or_listed():
    """A command the docs show is either an mb3d command (run by test_page_commands), a make target of
    the Makefile, or listed in NOT_RUN."""
    targets = make_targets()
    for page in PAGES:
        for cmd in commands(page.read_text(encoding="utf-8")):
            where = f"{page.relative_to(ROOT)}:{cmd.line}: {cmd.text}"
            k = kind(cmd)
            assert k != "unknown", f"{where}: neither an mb3d command, nor make, nor listed in NOT_RUN"
            if k == "make":
                named = [w for w in cmd.argv[1:] if not w.startswith("-") and "=" not in w]
                assert named and set(named) <= targets, f"{where}: not a target of the Makefile"
    used = {c.text for page in PAGES for c in commands(page.read_text(encoding="utf-8")) if kind(c) == "listed"}
    assert used == NOT_RUN, f"NOT_RUN lists commands that no page shows: {sorted(NOT_RUN - used)}"


# --- the pages ----------------------------------------------------------------------------------------
RUNNABLE = [p for p in PAGES if any(kind(c) == "mb3d" for c in commands(p.read_text(encoding="utf-8")))]
#: pages whose commands run at once (each command is its own process; the machine has 2 cores)
WORKERS = 2
#: a command that takes longer has hung
TIMEOUT_S = 600


@dataclass
class Ran:
    cmd: Command
    returncode: int
    output: str
    seconds: float


def run_page(page: Path, folder: Path) -> list[Ran]:
    """Run the page's mb3d commands in order in ``folder``, after ``mb3d examples cases``, a copy of
    studies/ and the page's files."""
    prep = run_mb3d(["examples", "cases"], folder)
    assert prep.returncode == 0, prep.stdout
    shutil.copytree(ROOT / "studies", folder / "studies")
    text = page.read_text(encoding="utf-8")
    for name, content in files(text).items():
        assert not Path(name).is_absolute() and ".." not in Path(name).parts, f"{page.name}: file {name!r}"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    ran = []
    for cmd in commands(text):
        if kind(cmd) == "mb3d":
            t0 = time.perf_counter()
            proc = run_mb3d(mb3d_args(cmd), folder)
            ran.append(Ran(cmd, proc.returncode, proc.stdout, time.perf_counter() - t0))
    return ran


@pytest.fixture(scope="session")
def page_runs(request, tmp_path_factory):
    """The selected pages' commands, started together when the first page's test needs them and run
    ``WORKERS`` pages at a time in background threads: page -> future of its list of :class:`Ran`."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    selected = [item.callspec.params["page"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_page_commands" and hasattr(item, "callspec")]
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = {page: pool.submit(run_page, page, tmp_path_factory.mktemp(page.stem)) for page in selected}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(ROOT)) for p in RUNNABLE])
def test_page_commands(page: Path, page_runs):
    """The page's mb3d commands, run in order in a folder with the example cases and studies, exit as
    the page says and print what it shows."""
    rel = page.relative_to(ROOT)
    for r in page_runs[page].result(timeout=TIMEOUT_S * 10):
        cmd = r.cmd
        print(f"{rel}:{cmd.line}: {cmd.text}  ({r.seconds:.1f} s, exit {r.returncode})")
        failure = cmd.output is not None and re.search(r"(?m)^\s*error:", cmd.output) is not None
        where = f"{rel}:{cmd.line}: `{cmd.text}`"
        if failure:
            assert r.returncode != 0, f"{where} should fail as shown, but exited 0:\n{r.output}"
        else:
            assert r.returncode == 0, f"{where} exited {r.returncode}:\n{r.output}"
        if cmd.output is not None and cmd.output.strip():
            assert output_matches(cmd.output, r.output), (
                f"{where}: the output differs from what the page shows.\n--- shown:\n{cmd.output}\n"
                f"--- actual:\n{r.output}")
