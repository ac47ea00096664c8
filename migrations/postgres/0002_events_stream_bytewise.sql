-- Stream names compare byte by byte (COLLATE "C"), as in SQLite and in Go,
-- whatever locale the database was created with. Under a real locale every
-- append, import and version check pays the locale's compare in the
-- (stream, stream_version) index and in streams' key: COPY of a million
-- events into a table with that index took about 1.6 CPU-s more under
-- en-US (ICU) than bytewise (8.5-10.2 s against 6.9-8.6 s). Under C.UTF-8
-- the two measured the same. No query needs a locale's order of streams.
--
-- The table is not rewritten, only the two indexes rebuilt, under an
-- ACCESS EXCLUSIVE lock: about 1.3 s per million events on a small machine.
ALTER TABLE events ALTER COLUMN stream TYPE text COLLATE "C";
ALTER TABLE streams ALTER COLUMN stream TYPE text COLLATE "C";
