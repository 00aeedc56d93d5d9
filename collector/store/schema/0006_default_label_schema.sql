-- annotrace schema 0006: the experiment's default label schema (MLflow 3.14+).
-- Never edit this file once merged: a change is a new numbered file.
--
-- MLflow seeds one default question per experiment ("Feedback", free text), lazily, when an
-- experiment's label schemas are first listed; it cannot be deleted and its name is reserved.
-- label_schemas.py seeds it inside a writer job (which re-checks, so two racing lists cannot
-- seed two) and only when no schema of the experiment is already named like it: a database from
-- before this file may hold a user's own "feedback" schema, which is kept as it is.

ALTER TABLE label_schemas ADD COLUMN is_default BOOLEAN NOT NULL DEFAULT false;
COMMENT ON COLUMN label_schemas.is_default IS 'Whether this is the experiment''s default question ("Feedback", seeded by the first list; MLflow 3.14 is_default): at most one per experiment, never deleted, never renamed.';
COMMENT ON COLUMN label_schemas.updated_at IS 'When the schema was last changed: replaced (create with overwrite) or edited (update_label_schema) (UTC).';
