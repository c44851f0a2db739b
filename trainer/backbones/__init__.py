"""Pretrained backbones: networks trained elsewhere on large catalogues, ported to PyTorch, with their
weights (and the licence notices that must travel with them) stored beside their code."""
