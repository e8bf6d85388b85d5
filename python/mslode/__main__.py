"""``python -m mslode``: the ``mslode`` command (``mslode --help``); with no
arguments it runs ``mslode demo``, the main job on the data shipped with
the package."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["demo"]))
