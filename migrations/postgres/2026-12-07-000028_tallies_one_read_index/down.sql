CREATE INDEX message_tallies_key ON message_tallies
    (hotel_id, day, campaign_id, campaign_name, channel, status, error_category, category);
