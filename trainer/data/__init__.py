"""Datasets: where tracks and labels come from, how they are split, cached and cut into windows."""
