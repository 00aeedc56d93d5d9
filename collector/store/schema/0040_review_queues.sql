-- annotrace schema 0040: MLflow OSS review queues (3.14+, /api/3.0/mlflow/review-queues/*) on the
-- labeling-session tables. Never edit this file once merged: a change is a new numbered file.
--
-- One review model (ARCHITECTURE 4): a review queue IS a labeling session whose session_id starts
-- with "rq-" and whose queue_type is set. Two differences, both kept in these columns rather than
-- in tables beside them: a queue's items are the traces themselves, not copies (MLflow attaches
-- trace ids; labeling_items.trace_id = source_trace_id), and an item has one shared workflow
-- status (pending -> complete | declined, set explicitly by any assigned user) besides each
-- labeler's own progress in labeling_item_status. Answers stay ordinary HUMAN assessments, so
-- agreement and adjudication read sessions and queues alike.
--
-- DuckDB refuses ALTER TABLE on a table with an index, so labeling_items' index is dropped and
-- made again around the new columns.

ALTER TABLE labeling_sessions ADD COLUMN queue_type VARCHAR;
ALTER TABLE labeling_sessions ADD COLUMN created_by VARCHAR;
COMMENT ON TABLE labeling_sessions IS 'Labeling sessions (MLflow mlflow.genai.labeling) and MLflow OSS review queues (mlflow.genai.review_queues; queue_type set): a set of traces for domain experts to label with label schemas. A session holds copies of traces and its id is a run id; a queue holds the traces themselves and its id starts with rq-. Session names need not be unique; queue names are unique per experiment, case-insensitively.';
COMMENT ON COLUMN labeling_sessions.session_id IS 'Session id: for a labeling session its MLflow run id (32 lowercase hex; the copied traces carry it as trace metadata mlflow.sourceRun); for a review queue its queue_id ("rq-" + 32 lowercase hex).';
COMMENT ON COLUMN labeling_sessions.assigned_users IS 'JSON list of the users allowed to label; an empty list lets any user label. A review queue''s users are lowercased (MLflow matches them to assessment source ids case-insensitively).';
COMMENT ON COLUMN labeling_sessions.label_schemas IS 'JSON list of the label schema names (label_schemas.name, same experiment) labelers answer, in display order. Empty for a user review queue, which asks every label schema of its experiment.';
COMMENT ON COLUMN labeling_sessions.queue_type IS 'NULL for a labeling session; for a review queue: user (a person''s own worklist, named after them, every schema of the experiment) or custom (0-10 users, chosen schemas; the analog of a labeling session).';
COMMENT ON COLUMN labeling_sessions.created_by IS 'Owner of a review queue (its user for a user queue; else as the client said, or NULL); NULL for labeling sessions.';

DROP INDEX labeling_items_session;
ALTER TABLE labeling_items ADD COLUMN status VARCHAR NOT NULL DEFAULT 'pending';
ALTER TABLE labeling_items ADD COLUMN completed_by VARCHAR;
ALTER TABLE labeling_items ADD COLUMN completed_time TIMESTAMP;
ALTER TABLE labeling_items ADD COLUMN last_update_time TIMESTAMP;
CREATE INDEX labeling_items_session ON labeling_items (session_id);
COMMENT ON TABLE labeling_items IS 'The traces of a labeling session or review queue, one row per item. add_traces copies a session''s source trace (traces, spans, span_events, span_links, documents, messages rows) under a new trace id, so labels never touch the original; a review queue''s item is the trace itself (trace_id = source_trace_id). A trace is an item of a session or queue at most once.';
COMMENT ON COLUMN labeling_items.trace_id IS 'Where answers are stored as assessments ("tr-" + 32 hex): the session''s copy of the trace, or for a review queue the trace itself (MLflow''s item_id).';
COMMENT ON COLUMN labeling_items.source_trace_id IS 'The trace that was copied (also on the copy as trace tag and metadata annotrace.source_trace_id); equals trace_id in a review queue.';
COMMENT ON COLUMN labeling_items.status IS 'The item''s shared workflow status (MLflow ReviewStatus): pending, complete or declined. Set explicitly by any assigned user (review-queues/items/set-status); never moved by writing an assessment. Each labeler''s own progress is in labeling_item_status.';
COMMENT ON COLUMN labeling_items.completed_by IS 'Who set the status to complete or declined (lowercased user); NULL while pending.';
COMMENT ON COLUMN labeling_items.completed_time IS 'When the status became complete or declined (UTC); NULL while pending.';
COMMENT ON COLUMN labeling_items.last_update_time IS 'When the status last changed (UTC); NULL until it first changes (then create_time is the answer).';

CREATE VIEW review_queues AS
SELECT
    session_id AS queue_id,
    experiment_id,
    name,
    upper(queue_type) AS queue_type,
    created_by,
    assigned_users AS users,
    label_schemas,
    create_time,
    last_update_time
FROM labeling_sessions
WHERE queue_type IS NOT NULL;
COMMENT ON VIEW review_queues IS 'MLflow OSS review queues (reference: mlflow.genai.review_queues), in MLflow''s names: the labeling_sessions rows that are queues.';
COMMENT ON COLUMN review_queues.queue_id IS 'Queue id ("rq-" + 32 lowercase hex).';
COMMENT ON COLUMN review_queues.experiment_id IS 'Experiment of the queue and of its traces.';
COMMENT ON COLUMN review_queues.name IS 'Queue name, unique per experiment case-insensitively; for a USER queue the (lowercased) user.';
COMMENT ON COLUMN review_queues.queue_type IS 'USER or CUSTOM.';
COMMENT ON COLUMN review_queues.created_by IS 'Owner of the queue, or NULL.';
COMMENT ON COLUMN review_queues.users IS 'JSON list of the assigned users (lowercased).';
COMMENT ON COLUMN review_queues.label_schemas IS 'JSON list of the label schema names asked (empty for a USER queue: every schema of the experiment).';
COMMENT ON COLUMN review_queues.create_time IS 'When the queue was created (UTC).';
COMMENT ON COLUMN review_queues.last_update_time IS 'When the queue''s name, users, schemas or owner last changed (UTC).';

CREATE VIEW review_queue_items AS
SELECT
    i.session_id AS queue_id,
    'TRACE' AS item_type,
    i.trace_id AS item_id,
    upper(i.status) AS status,
    i.completed_by,
    i.completed_time,
    i.create_time,
    coalesce(i.last_update_time, i.create_time) AS last_update_time
FROM labeling_items i
JOIN labeling_sessions s ON s.session_id = i.session_id
WHERE s.queue_type IS NOT NULL;
COMMENT ON VIEW review_queue_items IS 'The items of MLflow review queues with their shared status, in MLflow''s names (labeling_items rows of queues).';
COMMENT ON COLUMN review_queue_items.queue_id IS 'Queue of the item (review_queues.queue_id).';
COMMENT ON COLUMN review_queue_items.item_type IS 'Always TRACE (the only item type MLflow has).';
COMMENT ON COLUMN review_queue_items.item_id IS 'The trace ("tr-" + 32 hex); answers are assessments on it.';
COMMENT ON COLUMN review_queue_items.status IS 'PENDING, COMPLETE or DECLINED (shared by every assigned user).';
COMMENT ON COLUMN review_queue_items.completed_by IS 'Who completed or declined the item; NULL while pending.';
COMMENT ON COLUMN review_queue_items.completed_time IS 'When the item was completed or declined (UTC); NULL while pending.';
COMMENT ON COLUMN review_queue_items.create_time IS 'When the trace was added to the queue (UTC).';
COMMENT ON COLUMN review_queue_items.last_update_time IS 'When the item''s status last changed, else when it was added (UTC).';
