-- The event log.
--
-- Commit order without gaps: seq (bigserial) orders rows inside one
-- transaction, tx_id (the writer's xid8) orders transactions. Readers take
-- rows only below pg_snapshot_xmin(pg_current_snapshot()), so an event whose
-- transaction commits late is never skipped by a reader that already moved
-- past a later seq. Positions are (tx_id, seq).
--
-- data is json, not jsonb: json keeps the canonical text byte for byte
-- (jsonb reorders keys by length and rewrites numbers) and still answers
-- ->> queries. The body as received is in raw.
CREATE TABLE events (
    seq            bigserial   NOT NULL,
    tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
    id             uuid        NOT NULL,
    stream         text        NOT NULL,
    stream_version bigint      NOT NULL,
    type           text        NOT NULL,
    data           json,
    raw            bytea,
    metadata       jsonb       NOT NULL DEFAULT '{}',
    recorded_at    timestamptz NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (id),
    CONSTRAINT events_stream_version_key UNIQUE (stream, stream_version),
    CONSTRAINT events_stream_version_check CHECK (stream_version > 0)
);

-- The log order: ReadAll and Head walk this index.
CREATE INDEX events_log_idx ON events (tx_id, seq);
CREATE INDEX events_type_idx ON events (type);

-- One row per stream with its last version, so version checks never scan
-- events. Appends read and move it under a per-stream advisory lock.
CREATE TABLE streams (
    stream  text   PRIMARY KEY,
    version bigint NOT NULL CHECK (version >= 0)
);
