"""Models built from their configurations with random weights (nothing is downloaded).

- :mod:`.builders`: torch models from presets or ``transformers`` configs;
- :mod:`.paper_models`: the eight models of the paper's Figure 4, each with its training
  forward, and the training memory of any GPT-2-architecture config.
"""
