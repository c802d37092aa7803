DROP INDEX pms_guests_check_in;
