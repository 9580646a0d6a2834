"""``python -m memwall_lib``: run notebooks with papermill (see :mod:`memwall_lib.core.runner`),
after checking every notebook's parameters (:mod:`memwall_lib.figures.preflight`)."""

import sys

from .core.runner import main
from .figures.preflight import check_run

sys.exit(main(preflight=check_run))
