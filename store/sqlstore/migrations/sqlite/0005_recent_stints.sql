-- 0005: find a participant's recent stints, live or ended, across sessions
-- (ListRecentStints: a break-before-make move's join looks for the leave).

CREATE INDEX session_participants_by_participant ON session_participants (app_id, participant_id, left_at);
