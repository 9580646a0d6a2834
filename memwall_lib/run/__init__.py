"""Running the notebooks: the command line (``python -m memwall_lib``, :mod:`.runner`), the check
of every notebook's parameters before any runs (:mod:`.preflight`), and make's dependency file
(:mod:`.deps`: what each figure reads, from its imports and data files).

Layer rule: run imports core and figures (it knows which notebook draws which figure); nothing
of the library imports run.
"""
