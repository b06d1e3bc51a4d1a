-- Each app's instance counts per process type, set with ps:scale; they
-- outlive releases. A type without a row runs app.json's quantity.

CREATE TABLE app_scale (
	app_id   INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	type     TEXT NOT NULL,
	quantity INTEGER NOT NULL CHECK (quantity >= 0),
	PRIMARY KEY (app_id, type)
) STRICT;
