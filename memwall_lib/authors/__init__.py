"""The authors' own figure files read back: the points, lines and bars drawn in their vector PDFs
(``data/authors/``) become ``data/authors_plotted.csv``, on a kept PDF library (pikepdf).

- :mod:`.pdf`: what is drawn where on a page (pikepdf parses the content stream; this module
  tracks the state its operators change);
- :mod:`.plotted`: both axes calibrated from the ticks and their labels, one row per drawn
  element (``python -m memwall_lib.authors.plotted`` rewrites the CSV);
- :mod:`.identify`: which row of our own tables each plotted point is.

The CSV is read like every table of ``data/`` (:func:`memwall_lib.tables.load_authors_plotted`);
the fits on the authors' points, which the claims of Figures 1 and 2 carry, are figures'
(:mod:`memwall_lib.figures.authors_points`).

Layer rule: authors imports only :mod:`memwall_lib.core` and :mod:`memwall_lib.tables`; it
neither plots nor fits, and nothing but the tests and its own command line reads it.
"""
