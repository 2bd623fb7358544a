-- 0008: running breakout rooms may take late joiners: a participant without
-- an assignment who joins then is placed in the least full room.

ALTER TABLE families ADD COLUMN assign_late BOOLEAN NOT NULL DEFAULT FALSE;
