-- Admin sessions signed out before their expiry: the cookie is signed and
-- stateless, so a copy of it stays good until it expires unless its nonce
-- is here. Kept across restarts and upgrades; rows past expires are pruned.

CREATE TABLE revoked_sessions (
	nonce   TEXT PRIMARY KEY,
	expires INTEGER NOT NULL -- unix seconds
);
