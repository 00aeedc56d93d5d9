-- annotrace schema 0050: users, their API tokens, their per-experiment permissions and their
-- Review App sign-ins. Never edit this file once merged: a change is a new numbered file.
--
-- Secrets are never stored: a password as its argon2id hash (argon2-cffi's encoded form, which
-- carries its own salt and cost), a token or a sign-in as the SHA-256 of the random value handed
-- out once (they are 256 random bits, so a fast hash cannot be brute-forced, and the collector can
-- look them up by hash). User SQL cannot read these columns: /api/v1/sql is refused to everyone
-- but admins when authentication is on.

CREATE TABLE users (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL CHECK (role IN ('admin', 'editor', 'labeler', 'viewer')),
    password_hash VARCHAR,
    create_time TIMESTAMP NOT NULL,
    last_update_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE users IS 'People and programs that may call the collector when an authenticator (basicauth, bearertokenauth) is configured. Managed with `annotrace users` or /api/v1/users (admins).';
COMMENT ON COLUMN users.name IS 'User name, as typed at the Review App login and in Basic auth; an answer''s source_id. Case-sensitive, 1-250 characters, no ":" (Basic auth splits on it).';
COMMENT ON COLUMN users.role IS 'admin (everything, users and permissions included), editor (writes traces, assessments, label schemas, sessions, queues, datasets), labeler (answers in the sessions and queues it is assigned to, and reads what they need), viewer (reads only).';
COMMENT ON COLUMN users.password_hash IS 'argon2id hash of the password (argon2-cffi encoded form, salt included); NULL for a user that signs in with tokens only.';
COMMENT ON COLUMN users.create_time IS 'When the user was added (UTC).';
COMMENT ON COLUMN users.last_update_time IS 'When the role or password last changed (UTC).';

CREATE TABLE api_tokens (
    token_id VARCHAR PRIMARY KEY,
    user_name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL UNIQUE,
    description VARCHAR,
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP,
    revoke_time TIMESTAMP
);
COMMENT ON TABLE api_tokens IS 'API tokens (Authorization: Bearer <token>; MLFLOW_TRACKING_TOKEN; OTEL_EXPORTER_OTLP_HEADERS). The token is shown once, at creation; only its hash is kept. A token acts as its user, with the user''s current role.';
COMMENT ON COLUMN api_tokens.token_id IS 'Public id of the token ("tok-" + 16 hex), for listing and revoking; not a secret.';
COMMENT ON COLUMN api_tokens.user_name IS 'The user the token acts as (users.name).';
COMMENT ON COLUMN api_tokens.token_hash IS 'Lowercase hex SHA-256 of the token text ("at_" + 43 url-safe base64 characters).';
COMMENT ON COLUMN api_tokens.description IS 'What the token is for, as given at creation (e.g. "CI exporter"); may be NULL.';
COMMENT ON COLUMN api_tokens.create_time IS 'When the token was created (UTC).';
COMMENT ON COLUMN api_tokens.expire_time IS 'When the token stops working (UTC); NULL for never.';
COMMENT ON COLUMN api_tokens.revoke_time IS 'When the token was revoked (UTC); a revoked token is refused at once (401). NULL while valid.';

CREATE TABLE experiment_permissions (
    experiment_id VARCHAR NOT NULL,
    user_name VARCHAR NOT NULL,
    permission VARCHAR NOT NULL CHECK (permission IN ('READ', 'EDIT', 'MANAGE', 'NO_PERMISSIONS')),
    create_time TIMESTAMP NOT NULL,
    last_update_time TIMESTAMP NOT NULL,
    PRIMARY KEY (experiment_id, user_name)
);
COMMENT ON TABLE experiment_permissions IS 'Per-experiment permissions, in MLflow''s vocabulary. A user without any row here works on every experiment at their role''s level; a user with rows is restricted to those experiments. The role caps the permission: viewers and labelers never write through one.';
COMMENT ON COLUMN experiment_permissions.experiment_id IS 'The experiment (experiments.experiment_id).';
COMMENT ON COLUMN experiment_permissions.user_name IS 'The user (users.name).';
COMMENT ON COLUMN experiment_permissions.permission IS 'READ (read traces, assessments, sessions), EDIT (READ and write them), MANAGE (EDIT, delete, and grant permissions on the experiment), or NO_PERMISSIONS.';
COMMENT ON COLUMN experiment_permissions.create_time IS 'When the permission was first granted (UTC).';
COMMENT ON COLUMN experiment_permissions.last_update_time IS 'When the permission last changed (UTC).';

CREATE TABLE web_sessions (
    session_hash VARCHAR PRIMARY KEY,
    user_name VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    create_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE web_sessions IS 'Review App sign-ins: one row per browser signed in with a password (cookie annotrace_session). Deleted at logout, when the user is deleted or their password changes.';
COMMENT ON COLUMN web_sessions.session_hash IS 'Lowercase hex SHA-256 of the session cookie''s value (256 random bits).';
COMMENT ON COLUMN web_sessions.user_name IS 'Who signed in (users.name).';
COMMENT ON COLUMN web_sessions.csrf_token IS 'The token every form and JSON write of the pages must send back (form field csrf_token or header X-CSRF-Token).';
COMMENT ON COLUMN web_sessions.create_time IS 'When the user signed in (UTC).';
COMMENT ON COLUMN web_sessions.expire_time IS 'When the sign-in ends (UTC), 14 days after it started.';
