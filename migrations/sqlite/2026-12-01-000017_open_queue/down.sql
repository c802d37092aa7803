DROP INDEX flags_hotel_open_queue;
DROP INDEX flags_open_queue;
