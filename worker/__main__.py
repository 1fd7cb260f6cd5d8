"""`python -m worker` is `wirewatch`."""

import sys

from worker.cli import main

sys.exit(main())
