"""`python -m hpsim` runs the command line."""

import sys

from hpsim.cli import main

sys.exit(main())
