"""``python -m memwall_lib``: run notebooks with papermill (see :mod:`memwall_lib.core.runner`)."""

import sys

from .core.runner import main

sys.exit(main())
