-- Since when a draining release's pool sleeps (its processes stopped, its
-- pins kept until a request wakes it): a restart takes it back asleep.
-- NULL while awake.

ALTER TABLE releases ADD COLUMN sleeping_since TEXT;
