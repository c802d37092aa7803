ALTER TABLE erasures DROP COLUMN suppressions_redacted;
DROP TABLE suppressions;
