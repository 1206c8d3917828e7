-- The dashboard's people: users with a role and an argon2 password hash, their server-side
-- sessions, and an audit log of what they (and the `logisync users` command) did.

CREATE TABLE users (
    name             TEXT    PRIMARY KEY,
    role             TEXT    NOT NULL,            -- viewer, operator, admin
    password_hash    TEXT    NOT NULL,            -- argon2id, PHC string
    disabled         BIGINT NOT NULL DEFAULT 0,    -- 1: cannot sign in; sessions were ended
    failed_logins    BIGINT NOT NULL DEFAULT 0,    -- consecutive wrong passwords
    locked_until_us  BIGINT NOT NULL DEFAULT 0,    -- after too many: no sign-in before this
    created_us       BIGINT NOT NULL,
    updated_us       BIGINT NOT NULL,
    last_login_us    BIGINT
);

-- A session is found by the SHA-256 of its cookie value: the store never holds a usable id.
CREATE TABLE sessions (
    id_hash       TEXT    PRIMARY KEY,
    user_name     TEXT    NOT NULL,
    csrf          TEXT    NOT NULL,             -- the token every POST of this session must carry
    created_us    BIGINT NOT NULL,
    last_seen_us  BIGINT NOT NULL,
    expires_us    BIGINT NOT NULL              -- absolute end; idle sessions end earlier
);
CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us    BIGINT NOT NULL,
    actor    TEXT    NOT NULL,   -- user:NAME, cli:NAME, or anonymous:ADDRESS for a refused sign-in
    action   TEXT    NOT NULL,   -- login, login_failed, logout, user_added, role_set, ...
    target   TEXT,               -- what it was done to (a user's name, an exception id, ...)
    detail   TEXT                -- JSON
);
CREATE INDEX audit_log_at ON audit_log (at_us);
