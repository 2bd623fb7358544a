-- 0007: the timer of running breakout rooms: when they close (ends_at), and
-- when their close countdown begins (warn_at). Both NULL without a timer.

ALTER TABLE families ADD COLUMN ends_at BIGINT;
ALTER TABLE families ADD COLUMN warn_at BIGINT;

CREATE INDEX families_timer ON families (status, warn_at);
