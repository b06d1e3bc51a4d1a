-- The domains of apps beyond their default NAME.<domain>: each belongs to
-- one app at most ("*.example.com" is a wildcard).

CREATE TABLE domains (
	name   TEXT PRIMARY KEY,
	app_id INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX domains_app ON domains (app_id);
