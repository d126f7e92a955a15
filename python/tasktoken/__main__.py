"""`python -m tasktoken ARGS`: runs the installed `tasktoken` binary with ARGS.

For environments whose scripts directory is not on PATH; the exit status is the binary's.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ._server import find_binary


def main() -> int:
    """Runs the binary with this process's arguments and returns its exit status."""
    binary = find_binary()
    if sys.platform == "win32":
        return subprocess.call([binary, *sys.argv[1:]])
    os.execv(binary, [binary, *sys.argv[1:]])
    return 1  # not reached: execv replaces the process


if __name__ == "__main__":
    sys.exit(main())
