"""C{python -m secdns.cli}: the C{secdns} command."""

import sys

from secdns.cli.main import main

sys.exit(main())
