DROP TABLE status_events;
