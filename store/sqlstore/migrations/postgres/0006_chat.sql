-- 0006: chat messages of sessions, sent to everyone in the session's room.
-- Times are unix microseconds (UTC). seq is the insertion order: messages with
-- the same created_at are listed in the order they were stored.

CREATE TABLE chat_messages (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    app_id         TEXT NOT NULL,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    meeting_id     TEXT NOT NULL,
    participant_id TEXT NOT NULL, -- the sender
    name           TEXT NOT NULL, -- the sender's display name when sending
    message        TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE INDEX chat_messages_session ON chat_messages (session_id, created_at, seq);
