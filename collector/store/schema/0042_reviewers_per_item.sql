-- annotrace schema 0042: N independent reviewers per item, enforced by the server, with leases.
-- Never edit this file once merged: a change is a new numbered file.
--
-- With reviewers_per_item = N, the Review App hands a labeler an item only while fewer than N
-- other labelers have answered it or hold a lease on it (review_leases.claim, one writer job, so
-- two labelers cannot take the last place), and saving an answer is refused once N other labelers
-- have answered (labeling.answer_all): never more than N answers per item and schema. A lease
-- lasts labeling_leases.expire_time; an expired one returns the item to the pool.

ALTER TABLE labeling_sessions ADD COLUMN reviewers_per_item INTEGER;
COMMENT ON COLUMN labeling_sessions.reviewers_per_item IS 'How many labelers answer each item (each independently: a labeler sees no other answers); NULL: every assigned user, as MLflow does.';

CREATE TABLE labeling_leases (
    session_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    lease_time TIMESTAMP NOT NULL,
    expire_time TIMESTAMP NOT NULL
);
COMMENT ON TABLE labeling_leases IS 'Which labeler holds which item of a session with reviewers_per_item, until when: an item is handed out only while its answers plus the unexpired leases of other labelers are fewer than reviewers_per_item. A labeler holds at most one lease per session; answering or skipping the item ends it.';
COMMENT ON COLUMN labeling_leases.session_id IS 'Labeling session or review queue (labeling_sessions.session_id).';
COMMENT ON COLUMN labeling_leases.trace_id IS 'The item held (labeling_items.trace_id).';
COMMENT ON COLUMN labeling_leases.user_id IS 'The labeler holding it.';
COMMENT ON COLUMN labeling_leases.lease_time IS 'When the labeler was handed the item (UTC).';
COMMENT ON COLUMN labeling_leases.expire_time IS 'When the lease ends if the labeler has not answered (UTC); after it, the item may go to someone else.';
