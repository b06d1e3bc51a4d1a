-- Settings of an app that are not its config vars and not part of a
-- release: "redirect" = "off" (certs:redirect NAME off), and the like.

CREATE TABLE app_settings (
	app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	key    TEXT NOT NULL,
	value  TEXT NOT NULL,
	PRIMARY KEY (app_id, key)
) STRICT;
