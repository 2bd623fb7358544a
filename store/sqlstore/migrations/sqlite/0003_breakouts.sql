-- 0003: connected meetings (breakout rooms): family state and placements.

CREATE TABLE families (
    parent_id  TEXT NOT NULL PRIMARY KEY,
    app_id     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    status     TEXT NOT NULL,
    closing_at BIGINT,              -- NULL unless closing
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (app_id, parent_id) REFERENCES meetings (app_id, id) ON DELETE CASCADE
);

CREATE INDEX families_closing ON families (status, closing_at);

CREATE TABLE placements (
    participant_id TEXT NOT NULL PRIMARY KEY REFERENCES participants (id) ON DELETE CASCADE,
    parent_id      TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    room_id        TEXT REFERENCES meetings (id),     -- NULL: the parent
    assigned_id    TEXT REFERENCES meetings (id),     -- NULL: none
    preset_id      TEXT REFERENCES presets (id),      -- NULL: the participant's own
    updated_at     BIGINT NOT NULL
);

CREATE INDEX placements_parent ON placements (parent_id);
