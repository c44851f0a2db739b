"""`tagger learn`: a head for the user's own genres, fitted on the files they tagged, without torch.

The defaults live here, where the command line reads them without loading what learning needs."""

# Windows embedded per track (and so analysed per track by the learned model) are the base model's own
# unless asked: on gtzan-part in 7 made-up genres, 2 (the default's), 4 and 8 windows reached CV top-1 0.840,
# 0.798 and 0.819 with overlapping intervals, at 1x, 2x and 4x the cost (benchmarks/bench_learn.py).
# The fewest tracks a genre is learned from: a head fitted on three examples learns those three files,
# and its cross-validated figure says nothing.
MIN_TRACKS = 8
GROUPINGS = ("album", "artist", "track")  # what the folds keep on one side; album and artist fall back
