-- No query reads the log by type (GET /v1/events filters the commit-order
-- walk of events_log_idx), so the index only cost every append and import.
DROP INDEX IF EXISTS events_type_idx;
