-- What a release's own columns cannot say, in a line for `releases`: for
-- now, that its push went live but its connection was cut before git
-- moved the branch (set at the next start).

ALTER TABLE releases ADD COLUMN note TEXT NOT NULL DEFAULT '';
