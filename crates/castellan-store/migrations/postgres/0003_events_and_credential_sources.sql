-- Castellan schema v3 (PostgreSQL). See the SQLite twin for the reasons.
ALTER TABLE credentials DROP CONSTRAINT credentials_pkey;
ALTER TABLE credentials ADD PRIMARY KEY (id, source, scope);
ALTER TABLE identities DROP CONSTRAINT identities_pkey;
ALTER TABLE identities ADD PRIMARY KEY (id, source, scope);

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    at            TEXT NOT NULL,
    action        TEXT NOT NULL,
    identity_id   TEXT,
    credential_id TEXT,
    actor         TEXT,
    attributes    TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    first_run     BIGINT NOT NULL
);
CREATE INDEX events_identity ON events (identity_id, at) WHERE identity_id IS NOT NULL;
CREATE INDEX events_credential ON events (credential_id, at) WHERE credential_id IS NOT NULL;
CREATE INDEX events_at ON events (at);
