-- annotrace schema 0051: the audit trail of writes made through the collector's API and pages.
-- Never edit this file once merged: a change is a new numbered file.

CREATE SEQUENCE audit_log_seq START 1;
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    time TIMESTAMP NOT NULL,
    actor VARCHAR,
    action VARCHAR NOT NULL,
    object_type VARCHAR NOT NULL,
    object_id VARCHAR NOT NULL,
    previous JSON,
    new JSON
);
COMMENT ON TABLE audit_log IS 'Who changed what, when, and what it was before: one row per write to assessments, label schemas, labeling sessions, review queues, users, tokens and permissions, written in the same transaction as the write. Readable in SQL by admins (SELECT * FROM audit_log ORDER BY audit_id DESC).';
COMMENT ON COLUMN audit_log.audit_id IS 'Increasing number: the order the writes were committed in.';
COMMENT ON COLUMN audit_log.time IS 'When the write was made (UTC).';
COMMENT ON COLUMN audit_log.actor IS 'The authenticated user who made it (users.name); "cli" for `annotrace users|tokens` on a stopped collector''s file; NULL when authentication is off.';
COMMENT ON COLUMN audit_log.action IS 'What was done: create, update, delete, revoke, grant, answer...';
COMMENT ON COLUMN audit_log.object_type IS 'What it was done to: assessment, label_schema, labeling_session, review_queue, user, api_token, experiment_permission.';
COMMENT ON COLUMN audit_log.object_id IS 'The id of that object (assessment id, schema id, session or queue id, user name, token id, experiment_id/user_name).';
COMMENT ON COLUMN audit_log.previous IS 'The object before the write (JSON; secrets left out), NULL for a create.';
COMMENT ON COLUMN audit_log.new IS 'The object after the write (JSON; secrets left out), NULL for a delete.';
