DROP INDEX messages_hotel_counts;
