-- annotrace schema 0041: the labels that agreement statistics count, one row per item, schema and labeler.
-- Never edit this file once merged: a change is a new numbered file.
--
-- Which labels count (store/queries/agreement.py reads this view): a HUMAN assessment on an item
-- of a labeling session or review queue, named after one of its label schemas, wherever it came
-- from (the Review App, the REST API, log_feedback with AssessmentSource("HUMAN", labeler)). A
-- gold label (an assessment that overrides another) is an adjudication, not a labeler's answer,
-- so it is left out; a labeler's answer that a gold label overrides still counts (valid = false
-- only says it is no longer the trace's current value). Each labeler's latest answer counts.

CREATE VIEW labeling_labels AS
SELECT
    i.session_id,
    i.trace_id,
    a.assessment_name AS label_schema,
    a.source_id AS labeler,
    a.value,
    a.value_label,
    a.value_number,
    a.assessment_id,
    a.create_time AS label_time
FROM labeling_items i
JOIN labeling_sessions s ON s.session_id = i.session_id
JOIN assessments a ON a.trace_id = i.trace_id
WHERE a.source_type = 'HUMAN' AND a.source_id IS NOT NULL AND a.span_id IS NULL AND a.overrides IS NULL
    AND a.value IS NOT NULL
    AND (s.queue_type = 'user' OR list_contains(CAST(s.label_schemas AS VARCHAR[]), a.assessment_name))
QUALIFY row_number() OVER (PARTITION BY i.session_id, i.trace_id, a.assessment_name, a.source_id
                           ORDER BY a.last_update_time DESC, a.create_time DESC, a.assessment_id) = 1;
COMMENT ON VIEW labeling_labels IS 'The human labels that agreement statistics count (annotrace.genai.agreement, /api/v1/agreement/{session_id}, the /agreement page): per labeling session or review queue, item, label schema and labeler, that labeler''s latest HUMAN answer on the item, from any entry point. Gold labels (assessments that override another) are left out.';
COMMENT ON COLUMN labeling_labels.session_id IS 'Labeling session or review queue (labeling_sessions.session_id).';
COMMENT ON COLUMN labeling_labels.trace_id IS 'The item: the session''s copy of a trace, or a queue''s trace ("tr-" + 32 hex).';
COMMENT ON COLUMN labeling_labels.label_schema IS 'Label schema name (the assessment name).';
COMMENT ON COLUMN labeling_labels.labeler IS 'Who answered (assessments.source_id of a HUMAN assessment).';
COMMENT ON COLUMN labeling_labels.value IS 'The answer as JSON.';
COMMENT ON COLUMN labeling_labels.value_label IS 'The answer as text (strings as they are, booleans true/false, else JSON text).';
COMMENT ON COLUMN labeling_labels.value_number IS 'The answer as a number when it is one (booleans 1/0), else NULL.';
COMMENT ON COLUMN labeling_labels.assessment_id IS 'The assessment holding the answer.';
COMMENT ON COLUMN labeling_labels.label_time IS 'When the answer was first stored (UTC); the time-per-item figures use it.';
