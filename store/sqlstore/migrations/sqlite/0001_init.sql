-- 0001: apps, meetings, presets, participants.
-- Times are unix microseconds (UTC). JSON documents are TEXT, NULL when unset.
-- Ids are NOT NULL explicitly: SQLite would otherwise accept a NULL TEXT primary key.

CREATE TABLE apps (
    id         TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX apps_account_created ON apps (account_id, created_at, id);

CREATE TABLE meetings (
    id                              TEXT NOT NULL PRIMARY KEY,
    app_id                          TEXT NOT NULL REFERENCES apps (id),
    parent_id                       TEXT,          -- NULL for a top-level meeting
    title                           TEXT NOT NULL,
    title_folded                    TEXT NOT NULL, -- lower-cased title, for case-insensitive search
    status                          TEXT NOT NULL,
    record_on_start                 BOOLEAN NOT NULL,
    live_stream_on_start            BOOLEAN NOT NULL,
    persist_chat                    BOOLEAN NOT NULL,
    summarize_on_end                BOOLEAN NOT NULL,
    session_keep_alive_time_in_secs INTEGER NOT NULL,
    preferred_region                TEXT NOT NULL,
    ai_config                       TEXT,
    recording_config                TEXT,
    created_at                      BIGINT NOT NULL,
    updated_at                      BIGINT NOT NULL,
    UNIQUE (app_id, id),
    -- A breakout room's parent is a meeting of the same app.
    FOREIGN KEY (app_id, parent_id) REFERENCES meetings (app_id, id) ON DELETE CASCADE
);

CREATE INDEX meetings_app_created ON meetings (app_id, created_at, id);
CREATE INDEX meetings_parent ON meetings (app_id, parent_id);

CREATE TABLE presets (
    id         TEXT NOT NULL PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    name       TEXT NOT NULL,
    body       TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (app_id, id),
    UNIQUE (app_id, name)
);

CREATE INDEX presets_app_created ON presets (app_id, created_at, id);

CREATE TABLE participants (
    id                    TEXT NOT NULL PRIMARY KEY,
    app_id                TEXT NOT NULL,
    meeting_id            TEXT NOT NULL,
    custom_participant_id TEXT NOT NULL,
    preset_id             TEXT NOT NULL,
    name                  TEXT NOT NULL,
    picture               TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    UNIQUE (meeting_id, custom_participant_id),
    FOREIGN KEY (app_id, meeting_id) REFERENCES meetings (app_id, id) ON DELETE CASCADE,
    -- A preset in use cannot be deleted. NO ACTION rather than RESTRICT: both
    -- refuse, but SQLite reports RESTRICT as a trigger error, not a foreign key one.
    FOREIGN KEY (app_id, preset_id) REFERENCES presets (app_id, id) ON DELETE NO ACTION
);

CREATE INDEX participants_meeting_created ON participants (meeting_id, created_at, id);
CREATE INDEX participants_app_meeting ON participants (app_id, meeting_id);
CREATE INDEX participants_preset ON participants (app_id, preset_id);
