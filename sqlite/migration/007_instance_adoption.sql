-- What a later slipway needs to take a recorded process back after a
-- restart, an upgrade or a crash: its cgroup, its TMPDIR and how much of
-- its log file the app log already has.

ALTER TABLE instances ADD COLUMN cgroup TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN tmp_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN log_offset INTEGER NOT NULL DEFAULT 0;
