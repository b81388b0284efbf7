"""``python -m cli``: the same as ``ledgerctl``."""

import sys

from cli.main import main

sys.exit(main())
