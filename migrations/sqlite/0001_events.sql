-- The event log. seq is the rowid and the global position (TxID is always 0
-- on SQLite: one writer at a time commits rowids in order). AUTOINCREMENT so a
-- position is never handed out twice. recorded_at is unix microseconds (UTC).
-- data and metadata are JSON text; raw is the body exactly as received.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,
    stream         TEXT    NOT NULL,
    stream_version INTEGER NOT NULL CHECK (stream_version > 0),
    type           TEXT    NOT NULL,
    data           TEXT    NOT NULL,
    raw            BLOB,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    recorded_at    INTEGER NOT NULL,
    -- Also the index for stream reads and for a stream's current version (max).
    UNIQUE (stream, stream_version)
);
CREATE INDEX events_type ON events (type, seq);
