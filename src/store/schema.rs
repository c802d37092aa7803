// The tables of migrations/{sqlite,postgres}: both backends share one schema.

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::message_key::MessageKey;

    messages (id) {
        id -> MessageKey,
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
        category -> Integer,
    }
}

diesel::table! {
    campaigns (hotel_id, name) {
        hotel_id -> Text,
        name -> Text,
        name_folded -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    messages,
    campaigns,
    status_events,
    pms_guests,
    reconciliation_runs,
    reconciliation_run_hotels,
    flags,
    reconciliation_checks,
    erasures,
);

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::message_key::MessageKey;

    status_events (message_id, event_id) {
        message_id -> MessageKey,
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

diesel::table! {
    pms_guests (hotel_id, pms_guest_id) {
        hotel_id -> Text,
        pms_guest_id -> Text,
        pms_reservation_id -> Nullable<Text>,
        full_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        phone_normalized -> Nullable<Text>,
        email -> Nullable<Text>,
        email_normalized -> Nullable<Text>,
        check_in_date -> Nullable<Date>,
        check_out_date -> Nullable<Date>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reconciliation_runs (id) {
        id -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        trigger -> Text,
        state -> Text,
        hotel_ids -> Text,
        messages_checked -> BigInt,
        flags_raised -> BigInt,
        messages_skipped -> BigInt,
        errors -> BigInt,
        error_details -> Text,
    }
}

diesel::table! {
    reconciliation_run_hotels (run_id, hotel_id) {
        run_id -> Text,
        hotel_id -> Text,
        messages_checked -> BigInt,
        flags_raised -> BigInt,
        messages_skipped -> BigInt,
        errors -> BigInt,
        error_details -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::message_key::MessageKey;

    flags (id) {
        id -> Text,
        hotel_id -> Text,
        message_id -> MessageKey,
        run_id -> Nullable<Text>,
        reason -> Integer,
        detail -> Text,
        message_phone -> Nullable<Text>,
        pms_phone -> Nullable<Text>,
        suggested_phone -> Nullable<Text>,
        message_email -> Nullable<Text>,
        pms_email -> Nullable<Text>,
        guest_name -> Nullable<Text>,
        campaign_name -> Nullable<Text>,
        error_category -> Integer,
        corrected_phone -> Nullable<Text>,
        state -> Integer,
        resolution -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_by -> Nullable<Text>,
        stay_key -> Text,
        check_in_date -> Nullable<Date>,
        check_out_date -> Nullable<Date>,
        queue_check_in -> Date,
        message_ids -> Text,
        attempts -> Integer,
        channels_tried -> Text,
        reached_at -> Nullable<Timestamp>,
        reached_channel -> Nullable<Integer>,
        priority -> Integer,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::message_key::MessageKey;

    reconciliation_checks (message_id) {
        message_id -> MessageKey,
        checked_at -> Timestamp,
        message_updated_at -> Timestamp,
    }
}

diesel::joinable!(flags -> messages (message_id));
diesel::joinable!(reconciliation_checks -> messages (message_id));

diesel::table! {
    erasures (id) {
        id -> Text,
        hotel_id -> Text,
        requested_by -> Text,
        erased_at -> Timestamp,
        messages_redacted -> BigInt,
        guests_deleted -> BigInt,
        flags_redacted -> BigInt,
        suppressions_redacted -> BigInt,
    }
}

diesel::table! {
    message_tallies (hotel_id, day, campaign_id, campaign_name, channel, status, error_category, category) {
        hotel_id -> Text,
        day -> Date,
        campaign_id -> Text,
        campaign_name -> Text,
        channel -> Integer,
        status -> Integer,
        error_category -> Integer,
        messages -> Integer,
        category -> Integer,
    }
}

diesel::table! {
    sentlog_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    parked_events (id) {
        id -> Text,
        provider -> Text,
        provider_message_id -> Text,
        hotel_scope -> Text,
        status -> Integer,
        occurred_at -> Timestamp,
        event_id -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        received_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    suppressions (id) {
        id -> Text,
        hotel_id -> Text,
        address_hash -> Text,
        address -> Text,
        scope -> Integer,
        reason -> Integer,
        corrected -> Nullable<Text>,
        source_message_id -> Nullable<Text>,
        note -> Text,
        created_at -> Timestamp,
        created_by -> Text,
        lifted_at -> Nullable<Timestamp>,
        lifted_by -> Nullable<Text>,
        lift_note -> Nullable<Text>,
    }
}
