DROP TABLE campaigns;
DROP TABLE messages;
