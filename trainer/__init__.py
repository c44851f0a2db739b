"""Training genre models from audio with PyTorch (install the ``train`` extra)."""
