CREATE INDEX messages_hotel_counts
    ON messages (hotel_id, status, channel, error_category, campaign_name, campaign_id, created_at);
