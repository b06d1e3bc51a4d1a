-- What happened to an app that is not a release: scale, restart, stop and
-- start, maintenance, domains, retirements, one-off runs, renames. The
-- admin page's activity list shows them beside the releases, with who did
-- each.

CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	at         TEXT NOT NULL,
	kind       TEXT NOT NULL,
	by         TEXT NOT NULL DEFAULT '',
	detail     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX events_app ON events (app_id, id);
