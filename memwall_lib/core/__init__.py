"""Infrastructure that knows no figure: paths, CSV schema validation (:mod:`.schema`), trend
fits (:mod:`.trends`), claims and ``claims.md`` (:mod:`.claims`), atomic figure and sidecar
writing (:mod:`.output`), provenance (:mod:`.provenance`), papermill parameter checking
(:mod:`.params`), the one plot style (:mod:`.plotting`) and the notebook runner (:mod:`.runner`).

Layer rule: core imports nothing else of :mod:`memwall_lib`.
"""
