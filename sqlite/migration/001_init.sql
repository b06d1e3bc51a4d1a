-- Apps, their release history and the instances each release runs.
-- Times are RFC 3339 UTC text with nanoseconds; NULL is the zero time.

CREATE TABLE apps (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE releases (
	id                 INTEGER PRIMARY KEY,
	app_id             INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	version            INTEGER NOT NULL CHECK (version > 0),
	kind               TEXT NOT NULL CHECK (kind IN ('push', 'rollback', 'config')),
	status             TEXT NOT NULL CHECK (status IN ('building', 'failed', 'live', 'draining', 'retired')),
	commit_sha         TEXT NOT NULL DEFAULT '',
	subject            TEXT NOT NULL DEFAULT '',
	author             TEXT NOT NULL DEFAULT '',
	pusher_fingerprint TEXT NOT NULL DEFAULT '',
	pusher_comment     TEXT NOT NULL DEFAULT '',
	created_at         TEXT NOT NULL,
	started_at         TEXT,
	finished_at        TEXT,
	build_duration_ns  INTEGER NOT NULL DEFAULT 0,
	failure            TEXT NOT NULL DEFAULT '',
	rollback_of        INTEGER NOT NULL DEFAULT 0,
	config             TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
	dir                TEXT NOT NULL DEFAULT '',
	pruned             INTEGER NOT NULL DEFAULT 0 CHECK (pruned IN (0, 1)),
	log_path           TEXT NOT NULL DEFAULT '',
	spec               BLOB,
	-- Also the index for looking releases up by app.
	UNIQUE (app_id, version)
) STRICT;

CREATE TABLE instances (
	release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
	id         TEXT NOT NULL,
	pid        INTEGER NOT NULL DEFAULT 0,
	port       INTEGER NOT NULL DEFAULT 0,
	state      TEXT NOT NULL DEFAULT '',
	started_at TEXT,
	PRIMARY KEY (release_id, id)
) STRICT;
