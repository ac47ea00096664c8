-- Rejected callbacks (400, 401, 422), kept so nothing is lost; bounded by the ingest code.
CREATE TABLE quarantine (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT    NOT NULL,
    received_at   TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    field         TEXT    NOT NULL DEFAULT '',
    raw           BLOB    NOT NULL,
    headers       TEXT    NOT NULL DEFAULT '{}',
    remote_addr   TEXT    NOT NULL DEFAULT '',
    readmitted_at TEXT,
    event_id      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX quarantine_received_at ON quarantine (received_at);
