-- annotrace schema 0056: the audit trail covers every write of the review model (items and their
-- statuses, datasets, trace and experiment tags, trace deletes), and its ids on a DuckLake store.
-- Never edit this file once merged: a change is a new numbered file.

COMMENT ON TABLE audit_log IS 'Who changed what, when, and what it was before: one row per write to assessments, label schemas, labeling sessions and review queues (and their items and per-labeler statuses), datasets and their records, experiments and trace tags, trace deletes, users, tokens and permissions, written in the same transaction as the write. Readable in SQL by admins (SELECT * FROM audit_log ORDER BY audit_id DESC).';
COMMENT ON COLUMN audit_log.audit_id IS 'Increasing number: the order the writes were committed in. On a DuckLake store (no sequences, several collectors): microseconds since 1970 shifted left 10 bits, plus 10 bits drawn by each collector process, so ids still grow with time across collectors.';
COMMENT ON COLUMN audit_log.action IS 'What was done: create, update, delete, revoke, grant, answer, set-tag, delete-tag, add, remove, set-status, rename, set-lifecycle, upsert-records, delete-records...';
COMMENT ON COLUMN audit_log.object_type IS 'What it was done to: assessment, label_schema, labeling_session, review_queue, labeling_item, review_queue_item, labeling_item_status, dataset, experiment, trace, user, api_token, experiment_permission.';
COMMENT ON COLUMN audit_log.object_id IS 'The id of that object (assessment id, schema id, session or queue id, <session id>/<trace id> for an item, <session id>/<trace id>/<user> for a labeler''s status, dataset id, experiment id, trace id, user name, token id, experiment_id/user_name).';
