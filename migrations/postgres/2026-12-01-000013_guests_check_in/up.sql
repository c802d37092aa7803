-- Arrivals read a hotel's PMS guests by check-in date.
CREATE INDEX pms_guests_check_in ON pms_guests (hotel_id, check_in_date);
