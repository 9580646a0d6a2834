"""Memory, counted storage by storage on any device (meta too). Units: bytes.

- :mod:`.saved`: what autograd saves for backward, dropout masks counted as the target
  device stores them;
- :mod:`.live`: live bytes op by op (:class:`.live.LiveTracker`, also what the rematerialization
  measurements use) and the peak through a forward and backward;
- :mod:`.training`: parameters, gradients, optimizer state and activations of a training step;
- :mod:`.from_config`: that training step for a model built from a preset or a Hugging Face
  ``config.json`` on meta, with the head it trains with, at a batch and sequence length;
- :mod:`.text_claims`: model state under ZeRO, quantized inference footprint, optimizer state
  of SGD / Adam / AdaHessian / Shampoo, counted from their definitions.
"""
