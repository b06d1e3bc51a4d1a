-- Each app's config vars: what its next release runs with. Every release
-- keeps its own snapshot in releases.config.

CREATE TABLE app_config (
	app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	key    TEXT NOT NULL,
	value  TEXT NOT NULL,
	PRIMARY KEY (app_id, key)
) STRICT;
