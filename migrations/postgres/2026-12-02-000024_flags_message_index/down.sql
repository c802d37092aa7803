DROP INDEX flags_message;
