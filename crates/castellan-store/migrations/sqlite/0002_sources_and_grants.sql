-- Castellan schema v2 (SQLite).
-- 1. One identity may be reported by several sources (an IAM user is in the credential report and
--    in the authorization details). Each source keeps its own row, keyed by (id, source), with its
--    own provenance and gone-sweep; readers merge the rows of one id into one identity.
-- 2. Grants: what an identity (or a group it belongs to) may do, statement by statement.
CREATE TABLE identities_v2 (
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
    PRIMARY KEY (id, source)
) STRICT;
INSERT INTO identities_v2 SELECT id, kind, source, scope, name, account, status, privilege,
    created_at, last_used_at, tags, attributes, content_hash, first_seen, last_seen, first_run,
    last_run, gone_at, owner, custodian, service, supplier, attributed_via FROM identities;
DROP TABLE identities;
ALTER TABLE identities_v2 RENAME TO identities;

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
    first_run    INTEGER NOT NULL,
    last_run     INTEGER NOT NULL,
    gone_at      TEXT
) STRICT;
CREATE INDEX grants_holder ON grants (holder);
