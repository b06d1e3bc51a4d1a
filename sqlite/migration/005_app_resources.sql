-- Each app's resource limits by process type ('*' for every process),
-- set with resources:set. A NULL or 0 field sets no limit.

CREATE TABLE app_resources (
	app_id  INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	process TEXT NOT NULL,
	memory  INTEGER NOT NULL DEFAULT 0,
	cpu     REAL NOT NULL DEFAULT 0,
	pids    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (app_id, process)
) STRICT;
