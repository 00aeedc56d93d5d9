-- annotrace schema 0043: agreement figures in SQL, per labeling session (or review queue) and label schema.
-- Never edit this file once merged: a change is a new numbered file.
--
-- The same point estimates as annotrace.genai.agreement / /api/v1/agreement/{session_id} for
-- nominal and interval data, computed over the labeling_labels view (schema 0041), so a SQL user
-- can join and filter them: Krippendorff's alpha (nominal on value_label, interval on
-- value_number) and pairwise percent agreement. Bootstrap intervals, kappas, set distances and
-- the choice of level by schema type are in the API, not here.

CREATE VIEW labeling_agreement AS
WITH per_item AS (
    SELECT session_id, label_schema, trace_id, count(*) AS m, count(value_number) AS numbers,
           sum(value_number) AS s1, sum(value_number * value_number) AS s2
    FROM labeling_labels GROUP BY ALL
), per_value AS (
    SELECT session_id, label_schema, trace_id, value_label, count(*) AS c FROM labeling_labels GROUP BY ALL
), pairable_values AS (
    SELECT v.*, p.m FROM per_value v JOIN per_item p USING (session_id, label_schema, trace_id) WHERE p.m >= 2
), agree AS (
    SELECT session_id, label_schema, trace_id, any_value(m) AS m, sum(c * (c - 1)) AS agreeing
    FROM pairable_values GROUP BY ALL
), nominal AS (
    SELECT session_id, label_schema, sum(m) AS n, sum((m * (m - 1) - agreeing) / (m - 1)) AS observed,
           sum(agreeing) AS agreeing_pairs, sum(m * (m - 1)) AS pairs
    FROM agree GROUP BY ALL
), category_totals AS (
    SELECT session_id, label_schema, value_label, sum(c) AS n_c FROM pairable_values GROUP BY ALL
), expected AS (
    SELECT session_id, label_schema, sum(n_c) * sum(n_c) - sum(n_c * n_c) AS disagreeing FROM category_totals GROUP BY ALL
), interval AS (
    SELECT session_id, label_schema, sum(m) AS n, sum((2 * m * s2 - 2 * s1 * s1) / (m - 1)) AS observed,
           sum(s1) AS t1, sum(s2) AS t2
    FROM per_item WHERE m >= 2 AND numbers = m GROUP BY ALL
), counts AS (
    SELECT session_id, label_schema, count(DISTINCT trace_id) AS items, count(DISTINCT labeler) AS labelers,
           count(*) AS answers
    FROM labeling_labels GROUP BY ALL
)
SELECT c.session_id, c.label_schema, c.items, c.labelers, c.answers,
    CASE WHEN e.disagreeing > 0 THEN 1 - (nm.n - 1) * nm.observed / e.disagreeing END AS alpha_nominal,
    CASE WHEN 2 * iv.n * iv.t2 - 2 * iv.t1 * iv.t1 > 0
         THEN 1 - (iv.n - 1) * iv.observed / (2 * iv.n * iv.t2 - 2 * iv.t1 * iv.t1) END AS alpha_interval,
    CASE WHEN nm.pairs > 0 THEN nm.agreeing_pairs / nm.pairs END AS percent_agreement
FROM counts c
LEFT JOIN nominal nm USING (session_id, label_schema)
LEFT JOIN expected e USING (session_id, label_schema)
LEFT JOIN interval iv USING (session_id, label_schema);
COMMENT ON VIEW labeling_agreement IS 'Agreement between the labelers of each labeling session or review queue, per label schema, over labeling_labels: Krippendorff''s alpha (nominal and interval) and pairwise percent agreement, point estimates only. The API (/api/v1/agreement/{session_id}, annotrace.genai.agreement) adds bootstrap intervals, Cohen''s and Fleiss'' kappa, the set distance for categorical lists and per-labeler figures.';
COMMENT ON COLUMN labeling_agreement.session_id IS 'Labeling session or review queue (labeling_sessions.session_id).';
COMMENT ON COLUMN labeling_agreement.label_schema IS 'Label schema name.';
COMMENT ON COLUMN labeling_agreement.items IS 'Items with at least one answer to the schema.';
COMMENT ON COLUMN labeling_agreement.labelers IS 'Labelers who answered the schema.';
COMMENT ON COLUMN labeling_agreement.answers IS 'Answers counted (one per item and labeler).';
COMMENT ON COLUMN labeling_agreement.alpha_nominal IS 'Krippendorff''s alpha treating answers as categories (value_label); the right figure for pass_fail and categorical schemas. NULL when undefined (fewer than two answers on every item, or one category only).';
COMMENT ON COLUMN labeling_agreement.alpha_interval IS 'Krippendorff''s alpha with the interval distance on value_number; the right figure for numeric schemas. NULL when answers are not numbers or undefined.';
COMMENT ON COLUMN labeling_agreement.percent_agreement IS 'Share of pairs of answers on the same item that are identical; NULL with no item answered twice.';
