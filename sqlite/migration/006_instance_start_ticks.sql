-- The kernel's start time of each recorded process (field 22 of
-- /proc/PID/stat, clock ticks since boot): a pid names the recorded
-- process only while its start time matches, never a recycled one.

ALTER TABLE instances ADD COLUMN start_ticks INTEGER NOT NULL DEFAULT 0;
