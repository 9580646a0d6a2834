"""Models built from their configurations with random weights (nothing is downloaded).

- :mod:`.builders`: torch models from presets or ``transformers`` configs;
- :mod:`.configs`: a model the user gives, as a preset name or a Hugging Face ``config.json``,
  resolved to a config with its label and built on the meta device (any architecture
  transformers can build), and its key/value-cache layout;
- :mod:`.paper_models`: the eight models of the paper's Figure 4, each with its training
  forward, and the training memory of any GPT-2-architecture config.
"""
