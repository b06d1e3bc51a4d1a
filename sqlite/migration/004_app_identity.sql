-- Each app's own uid (and gid, the same number), allocated on first use
-- when slipway runs as root. A uid is never handed out twice, even after
-- its app is destroyed: identities remembers every one.

CREATE TABLE identities (
	uid        INTEGER PRIMARY KEY,
	app        TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;

CREATE TABLE app_identity (
	app_id INTEGER PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
	uid    INTEGER NOT NULL UNIQUE REFERENCES identities (uid)
) STRICT;
