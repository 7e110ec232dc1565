-- Castellan schema v2 (PostgreSQL). See the SQLite twin for the reasons.
ALTER TABLE identities DROP CONSTRAINT identities_pkey;
ALTER TABLE identities ADD PRIMARY KEY (id, source);

CREATE TABLE grants (
    id           TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    source       TEXT NOT NULL,
    scope        TEXT NOT NULL,
    effect       TEXT NOT NULL,
    privilege    TEXT NOT NULL,
    actions      TEXT NOT NULL,
    resources    TEXT NOT NULL,
    via          TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    first_run    BIGINT NOT NULL,
    last_run     BIGINT NOT NULL,
    gone_at      TEXT
);
CREATE INDEX grants_holder ON grants (holder);
