DROP TRIGGER message_tallies_insert;
DROP TRIGGER message_tallies_delete;
DROP TRIGGER message_tallies_update;
CREATE TABLE message_tallies_folded (
    hotel_id TEXT NOT NULL,
    day DATE NOT NULL,
    campaign_id TEXT NOT NULL,
    campaign_name TEXT NOT NULL,
    channel INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error_category INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (hotel_id, day, campaign_id, campaign_name, channel, status, error_category)
) WITHOUT ROWID;
INSERT INTO message_tallies_folded
SELECT hotel_id, day, campaign_id, campaign_name, channel, status, error_category, SUM(messages)
FROM message_tallies GROUP BY 1, 2, 3, 4, 5, 6, 7;
DROP TABLE message_tallies;
ALTER TABLE message_tallies_folded RENAME TO message_tallies;
CREATE TRIGGER message_tallies_insert AFTER INSERT ON messages
BEGIN
    INSERT INTO message_tallies
    VALUES (NEW.hotel_id, date(NEW.created_at), COALESCE(NEW.campaign_id, ''),
            COALESCE(NEW.campaign_name, ''), NEW.channel, NEW.status, NEW.error_category, 1)
    ON CONFLICT DO UPDATE SET messages = messages + 1;
END;
CREATE TRIGGER message_tallies_delete AFTER DELETE ON messages
BEGIN
    UPDATE message_tallies SET messages = messages - 1
    WHERE hotel_id = OLD.hotel_id AND day = date(OLD.created_at)
      AND campaign_id = COALESCE(OLD.campaign_id, '')
      AND campaign_name = COALESCE(OLD.campaign_name, '')
      AND channel = OLD.channel AND status = OLD.status
      AND error_category = OLD.error_category;
END;
CREATE TRIGGER message_tallies_update
AFTER UPDATE OF hotel_id, created_at, campaign_id, campaign_name, channel, status, error_category
ON messages
WHEN OLD.hotel_id IS NOT NEW.hotel_id OR OLD.created_at IS NOT NEW.created_at
  OR OLD.campaign_id IS NOT NEW.campaign_id OR OLD.campaign_name IS NOT NEW.campaign_name
  OR OLD.channel IS NOT NEW.channel OR OLD.status IS NOT NEW.status
  OR OLD.error_category IS NOT NEW.error_category
BEGIN
    UPDATE message_tallies SET messages = messages - 1
    WHERE hotel_id = OLD.hotel_id AND day = date(OLD.created_at)
      AND campaign_id = COALESCE(OLD.campaign_id, '')
      AND campaign_name = COALESCE(OLD.campaign_name, '')
      AND channel = OLD.channel AND status = OLD.status
      AND error_category = OLD.error_category;
    INSERT INTO message_tallies
    VALUES (NEW.hotel_id, date(NEW.created_at), COALESCE(NEW.campaign_id, ''),
            COALESCE(NEW.campaign_name, ''), NEW.channel, NEW.status, NEW.error_category, 1)
    ON CONFLICT DO UPDATE SET messages = messages + 1;
END;
DROP INDEX messages_hotel_category;
ALTER TABLE messages DROP COLUMN category;
