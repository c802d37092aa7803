DROP TABLE reconciliation_run_hotels;
