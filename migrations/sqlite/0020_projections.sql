-- Projection bookkeeping. The read-model tables themselves (devices_v1,
-- orders_v1, ledger_v1, ...) are created by the projections package from
-- its table descriptions, because a blue/green rebuild creates a new
-- version's tables at run time. Times are unix microseconds (UTC).

-- Which version of each projection's tables the queries read, and which
-- one a rebuild is building. code_version is the projection code version
-- the served tables were built with; a runner whose code is newer rebuilds.
CREATE TABLE projection_versions (
    name                  TEXT    PRIMARY KEY,
    served_version        INTEGER NOT NULL CHECK (served_version > 0),
    code_version          INTEGER NOT NULL,
    building_version      INTEGER,
    building_code_version INTEGER,
    updated_at            INTEGER NOT NULL DEFAULT 0
);

-- Position of the last event applied to one version of a projection,
-- written in the same transaction as that batch's read-model writes.
CREATE TABLE projection_checkpoints (
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    tx_id      INTEGER NOT NULL DEFAULT 0,
    seq        INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, version)
);

-- Events a projection could not apply (never dropped silently).
CREATE TABLE projection_poison (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    projection  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    tx_id       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    policy      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    UNIQUE (projection, version, event_id)
);
CREATE INDEX projection_poison_by_projection ON projection_poison (projection, last_seen);
