"""Infrastructure that knows no figure: paths, CSV schema validation (:mod:`.schema`), trend
fits (:mod:`.trends`), claims and ``claims.md`` (:mod:`.claims`), atomic figure and sidecar
writing (:mod:`.output`; a notebook's figures as one set with its manifest, under a lock on the
folder: :mod:`.figure_set`), provenance (:mod:`.provenance`), papermill parameter checking
(:mod:`.params`), argument checks (:mod:`.checks`), progress (:mod:`.progress`) and the one plot
style (:mod:`.plotting`). The notebook runner is :mod:`memwall_lib.run`; the factory that makes a
claim from its paper id is :mod:`memwall_lib.figures.paper_claims` (core knows no paper).

Layer rule: core imports nothing else of :mod:`memwall_lib`.
"""
