-- The open queue by urgency (the CSM's default view: OPEN and ACKNOWLEDGED flags,
-- most urgent first) walked in order and stopped at the page: queries that ask for
-- exactly those states name them literally, so the planner can use these.
CREATE INDEX flags_open_queue ON flags (priority, queue_check_in, created_at, id) WHERE state IN (1, 2);
CREATE INDEX flags_hotel_open_queue ON flags (hotel_id, priority, queue_check_in, created_at, id) WHERE state IN (1, 2);
