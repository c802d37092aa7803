-- Counts now sum message_tallies, or read the covering check-in/check-out indexes;
-- the wide count index only cost every write (a status change rewrites its entry).
DROP INDEX messages_hotel_counts;
