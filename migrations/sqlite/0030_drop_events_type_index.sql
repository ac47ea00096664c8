-- No query reads the log by type (GET /v1/events filters the commit-order
-- walk of the log), so the index only cost every append and import.
DROP INDEX IF EXISTS events_type;
