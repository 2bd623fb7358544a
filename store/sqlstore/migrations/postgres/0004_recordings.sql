-- 0004: recordings, and the backend jobs (egress ids) that worked for them.
-- Times are unix microseconds (UTC); started_at and stopped_at are NULL until set.

CREATE TABLE recordings (
    id                 TEXT NOT NULL PRIMARY KEY,
    app_id             TEXT NOT NULL,
    meeting_id         TEXT NOT NULL,
    session_id         TEXT,
    room_sid           TEXT,
    kind               TEXT NOT NULL,
    backend            TEXT NOT NULL,
    backend_id         TEXT,
    status             TEXT NOT NULL,
    start_reason       TEXT NOT NULL,
    stop_reason        TEXT,
    error              TEXT,
    file_name_prefix   TEXT NOT NULL,
    output_file_name   TEXT NOT NULL,
    max_seconds        INTEGER NOT NULL,
    file_size          BIGINT NOT NULL,
    duration           INTEGER NOT NULL,
    config             TEXT,
    outputs            TEXT,
    backend_updated_at BIGINT NOT NULL, -- unix nanoseconds of the last backend report
    invoked_at         BIGINT NOT NULL,
    started_at         BIGINT,
    stopped_at         BIGINT,
    updated_at         BIGINT NOT NULL,
    FOREIGN KEY (app_id, meeting_id) REFERENCES meetings (app_id, id) ON DELETE CASCADE
);

CREATE INDEX recordings_app_invoked ON recordings (app_id, invoked_at, id);
CREATE INDEX recordings_meeting_status ON recordings (meeting_id, status);

CREATE TABLE recording_jobs (
    backend_id   TEXT NOT NULL PRIMARY KEY,
    recording_id TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE
);

CREATE INDEX recording_jobs_recording ON recording_jobs (recording_id);
