-- PostgreSQL's 0002 makes stream names compare byte by byte. SQLite's text
-- already does (BINARY collation): nothing to change.
SELECT 1;
