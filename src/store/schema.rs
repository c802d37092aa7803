// The tables of migrations/{sqlite,postgres}: both backends share one schema.

diesel::table! {
    messages (id) {
        id -> Text,
        hotel_id -> Text,
        external_id -> Text,
        phone_region -> Nullable<Text>,
        campaign_id -> Nullable<Text>,
        campaign_name -> Nullable<Text>,
        channel -> Integer,
        recipient_phone -> Nullable<Text>,
        phone_valid -> Bool,
        recipient_email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        guest_name -> Nullable<Text>,
        pms_guest_id -> Nullable<Text>,
        pms_reservation_id -> Nullable<Text>,
        check_in_date -> Nullable<Date>,
        check_out_date -> Nullable<Date>,
        status -> Integer,
        scheduled_at -> Nullable<Timestamp>,
        provider -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        template_name -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        error_category -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        status_changed_at -> Timestamp,
        status_event_id -> Text,
        sent_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        read_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    campaigns (hotel_id, name) {
        hotel_id -> Text,
        name -> Text,
        name_folded -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(messages, campaigns, status_events);

diesel::table! {
    status_events (message_id, event_id) {
        message_id -> Text,
        event_id -> Text,
        status -> Integer,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        error_category -> Integer,
        outcome -> Integer,
    }
}

diesel::joinable!(status_events -> messages (message_id));
