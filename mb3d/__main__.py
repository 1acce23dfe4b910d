"""``python -m mb3d``: the ``mb3d`` command."""
import sys

from .cli import main

sys.exit(main())
