-- The apps' deploy webhooks (webhooks:add NAME URL): where each app's
-- events are POSTed, which kinds, and the secret that signs them; and the
-- newest deliveries of each (the store keeps about twenty), for
-- `webhooks NAME`. Both go with their app.

CREATE TABLE webhooks (
	id         INTEGER PRIMARY KEY,
	app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
	url        TEXT NOT NULL,
	events     TEXT NOT NULL, -- kinds, separated by commas
	secret     TEXT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (app_id, url)
) STRICT;

CREATE TABLE webhook_deliveries (
	id          INTEGER PRIMARY KEY,
	webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	delivery    TEXT NOT NULL, -- X-Slipway-Delivery
	at          TEXT NOT NULL,
	event       TEXT NOT NULL,
	release     TEXT NOT NULL DEFAULT '',
	status_code INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	attempts    INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
