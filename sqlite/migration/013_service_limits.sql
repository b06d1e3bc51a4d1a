-- Each service's resource limits, set with resources:set NAME. A 0 field
-- sets no limit.

ALTER TABLE services ADD COLUMN memory INTEGER NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN cpu REAL NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN pids INTEGER NOT NULL DEFAULT 0;
