"""`tagger batch` and `tagger apply`: the tagger's own analysis on a Ray cluster over a catalogue (local
folders, manifests, object storage), results in a Parquet table, applied to local files by the scan's writer.
Ray and pyarrow are imported only by these commands (the `cluster` extra)."""
