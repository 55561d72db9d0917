"""The ingestion engine: SFTPGo log folder -> SQL, each line exactly once.

Rooms: discover (which files exist), identity (which generation is this file), reader
(complete lines from an offset), parse (line -> event), store (rows + checkpoint in one
transaction), run (the pass that ties them together).
"""
