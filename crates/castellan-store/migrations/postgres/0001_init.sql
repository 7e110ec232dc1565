-- Castellan schema v1 (PostgreSQL). Timestamps are RFC 3339 UTC text with second precision, so they
-- sort as text. JSON columns hold sorted, compact JSON.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE import_runs (
    id             BIGINT PRIMARY KEY,
    source         TEXT NOT NULL,
    path           TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    summary        TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE identities (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    scope        TEXT NOT NULL,
    name         TEXT NOT NULL,
    account      TEXT,
    status       TEXT NOT NULL,
    privilege    TEXT NOT NULL,
    created_at   TEXT,
    last_used_at TEXT,
    tags         TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    first_run    BIGINT NOT NULL,
    last_run     BIGINT NOT NULL,
    gone_at      TEXT,
    owner        TEXT,
    custodian    TEXT,
    service      TEXT,
    supplier     TEXT,
    attributed_via TEXT
);

CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    identity_id     TEXT,
    kind            TEXT NOT NULL,
    source          TEXT NOT NULL,
    scope           TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT,
    last_rotated_at TEXT,
    last_used_at    TEXT,
    ever_used       BIGINT,
    expires_at      TEXT,
    fingerprint     TEXT,
    preview         TEXT,
    attributes      TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    first_run       BIGINT NOT NULL,
    last_run        BIGINT NOT NULL,
    gone_at         TEXT
);
CREATE INDEX credentials_identity ON credentials (identity_id);
CREATE INDEX credentials_fingerprint ON credentials (fingerprint) WHERE fingerprint IS NOT NULL;

-- Governance records (services, people, suppliers, contracts, exceptions, the governance document).
CREATE TABLE entities (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    source       TEXT NOT NULL,
    scope        TEXT NOT NULL,
    name         TEXT NOT NULL,
    data         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    first_run    BIGINT NOT NULL,
    last_run     BIGINT NOT NULL,
    gone_at      TEXT
);
CREATE INDEX entities_kind ON entities (kind);

CREATE TABLE findings (
    id         TEXT PRIMARY KEY,
    control    TEXT NOT NULL,
    subject    TEXT NOT NULL,
    severity   TEXT NOT NULL,
    status     TEXT NOT NULL,
    title      TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    exception  TEXT,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    closed_at  TEXT
);
CREATE INDEX findings_subject ON findings (subject);

CREATE TABLE ledger (
    seq  BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE ledger_head (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    size     BIGINT NOT NULL,
    chain    TEXT NOT NULL,
    frontier TEXT NOT NULL
);

CREATE TABLE ledger_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    body      TEXT NOT NULL
);
