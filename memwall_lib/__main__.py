"""``python -m memwall_lib``: run notebooks with papermill (see :mod:`memwall_lib.run.runner`),
after checking every notebook's parameters (:mod:`memwall_lib.run.preflight`)."""

import sys

from .run.preflight import check_run
from .run.runner import main

sys.exit(main(preflight=check_run))
