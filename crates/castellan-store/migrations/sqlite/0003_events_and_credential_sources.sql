-- Castellan schema v3 (SQLite).
-- 1. One credential may be reported by several sources (an SSH key in an authorized_keys file and
--    as a GitHub deploy key; an access key in the credential report and in list-access-keys), and
--    by one source in several scopes (the same SSH key in the authorized_keys files of two hosts,
--    the same certificate in two bundles). Each (source, scope) keeps its own row — a sighting —
--    keyed by (id, source, scope), with its own provenance and gone-sweep; readers merge the rows
--    of one id. Identities get the same key.
-- 2. Lifecycle events reported by sources (CloudTrail, audit logs): immutable facts, inserted
--    once (idempotent by id), never swept as gone.
CREATE TABLE credentials_v3 (
    id              TEXT NOT NULL,
    identity_id     TEXT,
    kind            TEXT NOT NULL,
    source          TEXT NOT NULL,
    scope           TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT,
    last_rotated_at TEXT,
    last_used_at    TEXT,
    ever_used       INTEGER,
    expires_at      TEXT,
    fingerprint     TEXT,
    preview         TEXT,
    attributes      TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL,
    first_run       INTEGER NOT NULL,
    last_run        INTEGER NOT NULL,
    gone_at         TEXT,
    PRIMARY KEY (id, source, scope)
) STRICT;
INSERT INTO credentials_v3 SELECT id, identity_id, kind, source, scope, name, status, created_at,
    last_rotated_at, last_used_at, ever_used, expires_at, fingerprint, preview, attributes,
    content_hash, first_seen, last_seen, first_run, last_run, gone_at FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_v3 RENAME TO credentials;
CREATE INDEX credentials_identity ON credentials (identity_id);
CREATE INDEX credentials_fingerprint ON credentials (fingerprint) WHERE fingerprint IS NOT NULL;

CREATE TABLE identities_v3 (
    id           TEXT NOT NULL,
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
    first_run    INTEGER NOT NULL,
    last_run     INTEGER NOT NULL,
    gone_at      TEXT,
    owner        TEXT,
    custodian    TEXT,
    service      TEXT,
    supplier     TEXT,
    attributed_via TEXT,
    PRIMARY KEY (id, source, scope)
) STRICT;
INSERT INTO identities_v3 SELECT id, kind, source, scope, name, account, status, privilege,
    created_at, last_used_at, tags, attributes, content_hash, first_seen, last_seen, first_run,
    last_run, gone_at, owner, custodian, service, supplier, attributed_via FROM identities;
DROP TABLE identities;
ALTER TABLE identities_v3 RENAME TO identities;

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
    first_run     INTEGER NOT NULL
) STRICT;
CREATE INDEX events_identity ON events (identity_id, at) WHERE identity_id IS NOT NULL;
CREATE INDEX events_credential ON events (credential_id, at) WHERE credential_id IS NOT NULL;
CREATE INDEX events_at ON events (at);
