"""Sphinx configuration of the mslode documentation.

Build (from the repository root; ``./run.sh docs`` installs what it needs first)::

    sphinx-build -E -W --keep-going -b html docs build/docs

The guide pages are Markdown (MyST); the API reference is generated from the
docstrings by autodoc, which imports ``mslode``: from the source tree
(``python/``) when the compiled module ``_core`` has been built there, else
the installed package.
"""

from __future__ import annotations

import importlib.machinery
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
SOURCE = DOCS.parent / "python"


def _built_in_place() -> bool:
    """Whether ``python/mslode`` holds a compiled ``_core`` this interpreter can load."""
    package = SOURCE / "mslode"
    return any((package / f"_core{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


if _built_in_place():
    sys.path.insert(0, str(SOURCE))

import mslode  # noqa: E402  (after the path is set)

# -- project -----------------------------------------------------------------------------------
project = "mslode"
author = "the mslode developers"
copyright = "the mslode developers"
release = mslode.__version__
version = ".".join(release.split(".")[:2])

# -- general -----------------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# Only the pages: no stray files (README of image folders, scripts, build output).
exclude_patterns = ["_build", "**/README.md", "_static/**/*.md", ".ipynb_checkpoints"]
templates_path: list[str] = []

# Markdown: `## Heading` gets an anchor, so [text](page.md#heading) links resolve.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# -- autodoc -----------------------------------------------------------------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpy-style docstrings give the types
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True  # signatures show ``alphas=DEFAULT_ALPHAS``, not the 13 numbers
# Napoleon escapes the trailing underscore of fitted attributes (``coef_``)
# only with this set; without it ``coef_`` would render as ``coef``.
strip_signature_backslash = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes" as a field list like "Parameters": several names on one line
# ("structure, center, center_species : ndarray") stay together, and the
# types are not cross-referenced word by word.
napoleon_custom_sections = [("Attributes", "params_style")]

# -- HTML --------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"mslode {release}"
html_static_path = ["_static"] if (DOCS / "_static").is_dir() else []
html_show_sourcelink = False
