-- 0002: sessions (LiveKit room lives) and their participants, applied LiveKit
-- webhook events, polls, webhooks and the webhook outbox.
-- Times are unix microseconds (UTC); durations are microseconds.

CREATE TABLE livekit_events (
    id          TEXT NOT NULL PRIMARY KEY,
    event       TEXT NOT NULL,
    room        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE INDEX livekit_events_received ON livekit_events (received_at);

CREATE TABLE sessions (
    id                          TEXT NOT NULL PRIMARY KEY,
    app_id                      TEXT NOT NULL,
    meeting_id                  TEXT NOT NULL,
    parent_session_id           TEXT,          -- NULL for a top-level meeting's session
    title                       TEXT NOT NULL,
    title_folded                TEXT NOT NULL, -- lower-cased title, for case-insensitive search
    room_sid                    TEXT NOT NULL,
    status                      TEXT NOT NULL,
    live_participants           INTEGER NOT NULL,
    max_concurrent_participants INTEGER NOT NULL,
    participant_time            BIGINT NOT NULL,
    end_reason                  TEXT NOT NULL,
    started_at                  BIGINT NOT NULL,
    ended_at                    BIGINT,        -- NULL while LIVE
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    UNIQUE (app_id, id),
    FOREIGN KEY (app_id, meeting_id) REFERENCES meetings (app_id, id) ON DELETE CASCADE
);

-- A meeting has at most one LIVE session.
CREATE UNIQUE INDEX sessions_one_live ON sessions (meeting_id) WHERE status = 'LIVE';
CREATE INDEX sessions_app_created ON sessions (app_id, created_at, id);
CREATE INDEX sessions_meeting_room ON sessions (meeting_id, room_sid, created_at);
CREATE INDEX sessions_parent ON sessions (parent_session_id);

CREATE TABLE session_participants (
    id                    TEXT NOT NULL PRIMARY KEY,
    session_id            TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    app_id                TEXT NOT NULL,
    meeting_id            TEXT NOT NULL,
    participant_id        TEXT NOT NULL,
    custom_participant_id TEXT NOT NULL,
    display_name          TEXT NOT NULL,
    display_name_folded   TEXT NOT NULL,
    preset_name           TEXT NOT NULL,
    peer_id               TEXT NOT NULL,
    last_left_peer_id     TEXT NOT NULL,
    joined_at             BIGINT NOT NULL,
    left_at               BIGINT,          -- NULL while in the room
    live_since            BIGINT,          -- NULL when not in the room
    duration              BIGINT NOT NULL,
    leave_reason          TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (session_id, participant_id)
);

CREATE INDEX session_participants_live ON session_participants (app_id, participant_id) WHERE live_since IS NOT NULL;

CREATE TABLE polls (
    id         TEXT NOT NULL PRIMARY KEY,
    app_id     TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    meeting_id TEXT NOT NULL,
    question   TEXT NOT NULL,
    options    TEXT NOT NULL, -- JSON array of strings
    anonymous  BOOLEAN NOT NULL,
    hide_votes BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX polls_session ON polls (session_id, created_at, id);

CREATE TABLE poll_votes (
    poll_id        TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    option_index   INTEGER NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (poll_id, participant_id)
);

CREATE TABLE webhooks (
    id         TEXT NOT NULL PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL, -- JSON array of event names
    enabled    BOOLEAN NOT NULL,
    flavour    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX webhooks_app_created ON webhooks (app_id, created_at, id);

-- The outbox. seq is the enqueue order; a webhook's head is its pending
-- delivery with the lowest seq.
CREATE TABLE webhook_deliveries (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    app_id          TEXT NOT NULL,
    event           TEXT NOT NULL,
    body            BYTEA NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT NOT NULL,
    last_status     INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);

CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, status, seq);
