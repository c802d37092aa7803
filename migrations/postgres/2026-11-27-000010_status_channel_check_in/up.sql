-- The console's working view: a status and a channel for a window of arrivals
-- ("WhatsApp messages not delivered to next week's guests"). With both equalities
-- ahead of the date, the index range holds exactly the matches, instead of every
-- check-in of the window filtered (two months of a big hotel, WhatsApp, delivered:
-- ~7,900 entries read instead of ~29,000), and carrying the error category it also
-- answers the count.
CREATE INDEX messages_hotel_status_channel_check_in
    ON messages (hotel_id, status, channel, check_in_date, created_at, id, error_category);
