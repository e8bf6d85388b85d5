"""The documentation: its Python snippets run, and it builds without a warning.

Every ```python block of the guide pages in ``RUNNABLE_PAGES`` is executed,
page by page in one namespace (as a reader would paste them, top to bottom),
in a fresh interpreter with one OpenMP thread (an OpenMP team on a busy
machine waits for its slowest thread), in a temporary directory: all pages
take about half a minute. ``python tests/test_docs.py PAGE.md`` runs one page
and prints what the reader would see. The HTML build runs ``sphinx-build -W --keep-going``
into a temporary directory, so a warning (a broken cross-reference, a
malformed docstring, a page outside the table of contents) fails the tests;
it is skipped only when Sphinx is not installed (``pip install ".[docs]"``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"

#: Guide pages whose ```python blocks are complete programs (in order).
RUNNABLE_PAGES = ["index.md", "python-api.md", "hyperparameters.md", "periodic.md", "forces.md"]

_FENCE = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, code) of every fenced block whose info string is
    ``python`` (or ``{code-block} python``) in a Markdown page."""
    blocks = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        match = _FENCE.match(lines[k])
        if not match:
            k += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        body, start = [], k + 1
        k += 1
        while k < len(lines) and not lines[k].strip().startswith(fence):
            body.append(lines[k])
            k += 1
        k += 1
        words = info.replace("{code-block}", "").split()
        if words and words[0] == "python":
            code = "\n".join(line for line in body if not line.startswith(":"))  # directive options
            blocks.append((start + 1, code + "\n"))
    return blocks


def run_page(name: str, directory: Path) -> float:
    """Execute the Python blocks of one page in ``directory``; the seconds it took."""
    path = DOCS / name
    namespace: dict = {"__name__": f"docs.{name}"}
    start = time.perf_counter()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        for line, code in python_blocks(path.read_text(encoding="utf-8")):
            # compiled with the page's line numbers: a failure points into the page
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)
    finally:
        os.chdir(cwd)
    return time.perf_counter() - start


def test_the_runnable_pages_have_snippets():
    for name in RUNNABLE_PAGES:
        assert python_blocks((DOCS / name).read_text(encoding="utf-8")), f"{name} has no python block"


@pytest.mark.parametrize("name", RUNNABLE_PAGES)
def test_snippets_run(name, tmp_path):
    import mslode

    # the mslode this test session imports, whatever the working directory
    package_root = str(Path(mslode.__file__).resolve().parent.parent)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLBACKEND": "Agg", "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, __file__, name], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"the snippets of {name} failed:\n{result.stderr}\n{result.stdout}"


def test_sphinx_build_has_no_warnings(tmp_path):
    if importlib.util.find_spec("sphinx") is None:
        pytest.skip('Sphinx is not installed (pip install ".[docs]")')
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"sphinx-build failed or warned:\n{result.stderr}\n{result.stdout}"
    assert (tmp_path / "html" / "index.html").is_file()


if __name__ == "__main__":
    for page in sys.argv[1:] or RUNNABLE_PAGES:
        print(f"== {page}: {run_page(page, Path.cwd()):.1f} s", flush=True)
