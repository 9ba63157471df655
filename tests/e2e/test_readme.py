"""The README is executed: every ``console`` block runs, in order, as a user would type it.

Convention (also in the README's Development section):

* every fenced block opened with ```` ```console ```` is run, in the order of the README, in
  one temporary working folder (holding a copy of ``examples/``) with one temporary data
  directory (``CRITMAT_DATA_DIR``), so later blocks see what earlier ones imported;
* each line starting with ``$ `` is one command, run by the shell (``;`` and ``|`` work) with
  the ``critmat`` of this environment first on ``PATH``; it must exit 0;
* output lines of the block that are CSV rows (two or more commas, no ", ", no table borders)
  must appear in the command's output (numbers equal to 1e-9: cheap checks of the numbers
  the README shows);
* an HTML comment ``<!-- readme-test: skip REASON -->`` on the line before a block skips it
  (for long-running commands such as a server); ``<!-- readme-test: exit N -->`` says the
  block's commands are meant to fail with exit code ``N`` (an example of an error report).

Other sections may be added to the README at any time: this test needs no change for them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```console\s*$")
_MARK = re.compile(r"<!--\s*readme-test:\s*(skip|exit)\s*(.*?)\s*-->")
_BOX = set("┏┃┡│└━┳╇┓┩┗┛┠─┼┴┬┌┐┘├┤")


@dataclass
class Command:
    line: int
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int
    commands: list[Command]
    skip: str | None = None
    exit_code: int = 0


def parse(text: str) -> list[Block]:
    """The console blocks of a Markdown text, with their commands and markers."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        skip, code = None, 0
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("<!--"):
            m = _MARK.search(lines[j])
            if m and m.group(1) == "skip":
                skip = m.group(2) or "no reason given"
            elif m and m.group(1) == "exit":
                code = int(m.group(2))
            j -= 1
        block = Block(i + 1, [], skip, code)
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            if lines[i].startswith("$ "):
                block.commands.append(Command(i + 1, lines[i][2:].strip()))
            elif block.commands and _is_csv_row(lines[i]):
                block.commands[-1].expected.append(lines[i].strip())
            i += 1
        blocks.append(block)
        i += 1
    return blocks


def _is_csv_row(line: str) -> bool:
    return (
        line.count(",") >= 2 and ", " not in line and not (set(line) & _BOX) and "..." not in line
    )


def _same_field(a: str, b: str) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def _row_in(expected: str, output: str) -> bool:
    """``expected`` is a line of ``output``, numbers equal to 1e-9 (the last digit may vary)."""
    want = expected.split(",")
    for line in output.splitlines():
        got = line.strip().split(",")
        if len(got) == len(want) and all(_same_field(a, b) for a, b in zip(got, want, strict=True)):
            return True
    return False


def test_parse_convention() -> None:
    """The parser itself: commands, CSV output lines, skip and exit markers."""
    text = "\n".join(
        [
            "```console",
            "$ critmat a --format csv",
            "x,y,z",
            "┃ a ┃ b, c, d ┃",
            "```",
            "<!-- readme-test: skip starts a server -->",
            "```console",
            "$ critmat serve",
            "```",
            "<!-- readme-test: exit 2 -->",
            "```console",
            "$ critmat bad",
            "```",
            "```bash",
            "$ not console",
            "```",
        ]
    )
    a, b, c = parse(text)
    assert [x.text for x in a.commands] == ["critmat a --format csv"]
    assert a.commands[0].expected == ["x,y,z"]
    assert b.skip == "starts a server" and c.exit_code == 2 and a.skip is None


def test_readme_console_blocks_run(tmp_path: Path) -> None:
    blocks = parse(README.read_text(encoding="utf-8"))
    assert sum(len(b.commands) for b in blocks) >= 10  # the README has its workflows
    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "CRITMAT_DATA_DIR": str(tmp_path / "data"),
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "COLUMNS": "120",
    }
    failures: list[str] = []
    for block in blocks:
        if block.skip is not None:
            continue
        for cmd in block.commands:
            proc = subprocess.run(
                ["bash", "-c", f"set -o pipefail; {cmd.text}"],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            out = proc.stdout + proc.stderr
            where = f"README.md:{cmd.line}: $ {cmd.text}"
            if "Traceback" in out:
                failures.append(f"{where}\n  traceback:\n{out[-2000:]}")
            elif proc.returncode != block.exit_code:
                failures.append(
                    f"{where}\n  exit {proc.returncode}, expected {block.exit_code}:\n{out[-2000:]}"
                )
            else:
                missing = [e for e in cmd.expected if not _row_in(e, proc.stdout)]
                if missing:
                    failures.append(f"{where}\n  output lacks: {missing}")
    assert not failures, "\n\n".join(failures)
