-- Backing services (postgres:*, redis:*): one server process each, on its
-- own port of 127.0.0.1 with its own password, and, when slipway is root,
-- its own uid from the apps' range: identities keeps it (app is
-- "service:NAME") so that no app or service is ever given it again. The
-- running process is recorded as an instance's is, for a later slipway to
-- adopt; pid 0 when none runs.

CREATE TABLE services (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	kind            TEXT NOT NULL CHECK (kind IN ('postgres', 'redis')),
	version         TEXT NOT NULL DEFAULT '',
	uid             INTEGER UNIQUE REFERENCES identities (uid), -- NULL when it has none
	port            INTEGER NOT NULL UNIQUE CHECK (port BETWEEN 1 AND 65535),
	password        TEXT NOT NULL,
	stopped         INTEGER NOT NULL DEFAULT 0 CHECK (stopped IN (0, 1)),
	backup_schedule TEXT NOT NULL DEFAULT '', -- a cron spec; '' for none
	backup_keep     INTEGER NOT NULL DEFAULT 0 CHECK (backup_keep >= 0),
	created_at      TEXT NOT NULL,
	pid             INTEGER NOT NULL DEFAULT 0,
	start_ticks     INTEGER NOT NULL DEFAULT 0,
	cgroup          TEXT NOT NULL DEFAULT '',
	tmp_dir         TEXT NOT NULL DEFAULT '',
	log_offset      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The apps linked to each service, through the config var the link set on
-- the app. By ids, so that a renamed app keeps its links and a destroyed
-- one loses them; a service is not deleted while it has any. Two links of
-- one app never set the same var.

CREATE TABLE service_links (
	service_id INTEGER NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
	app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	var        TEXT NOT NULL,
	PRIMARY KEY (service_id, app_id),
	UNIQUE (app_id, var)
) STRICT;
