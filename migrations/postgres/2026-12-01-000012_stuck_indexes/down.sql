DROP INDEX messages_stuck_waiting;
DROP INDEX messages_stuck_sent;
