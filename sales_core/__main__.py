"""`python -m sales_core`: the command line."""

import sys

from sales_core.cli import main

sys.exit(main())
