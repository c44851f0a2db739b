"""`tagger learn`: a head for the user's own genres, fitted on the files they tagged, without torch.

The defaults live here, where the command line reads them without loading what learning needs."""

# Windows embedded per track, and so analysed per track by the learned model: more than the default's 2
# (each is another example to learn from, and the average over more windows is surer; bench_learn.py).
LEARN_WINDOWS = 4
# The fewest tracks a genre is learned from: a head fitted on three examples learns those three files,
# and its cross-validated figure says nothing.
MIN_TRACKS = 8
GROUPINGS = ("album", "artist", "track")  # what the folds keep on one side; album and artist fall back
