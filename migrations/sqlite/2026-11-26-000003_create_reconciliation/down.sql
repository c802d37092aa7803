DROP INDEX messages_status_id;
DROP TABLE reconciliation_checks;
DROP TABLE flags;
DROP TABLE reconciliation_runs;
DROP TABLE pms_guests;
