//! Diesel's view of the tables in `migrations/{sqlite,postgres}`. Written by hand to use only
//! types both backends share (ids are BigInt in both; SQLite integers are 64-bit).

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        deactivated_at -> Nullable<BigInt>,
        removed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        created_by -> Nullable<BigInt>,
        updated_at -> BigInt,
        last_login_at -> Nullable<BigInt>,
        session_epoch -> BigInt,
    }
}

diesel::table! {
    one_time_codes (id) {
        id -> BigInt,
        purpose -> Text,
        code_hash -> Binary,
        user_id -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        data -> Text,
        expires_at -> BigInt,
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        email -> Text,
        ip -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    service_accounts (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        role -> Text,
        can_introspect -> Bool,
        disabled_at -> Nullable<BigInt>,
        deleted_at -> Nullable<BigInt>,
        created_at -> BigInt,
        created_by -> Nullable<BigInt>,
        created_by_label -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    tokens (id) {
        id -> BigInt,
        public_id -> Text,
        kind -> Text,
        service_account_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        name -> Text,
        description -> Text,
        display_prefix -> Text,
        secret_hash -> Binary,
        previous_secret_hash -> Nullable<Binary>,
        previous_secret_expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
        created_by -> Nullable<BigInt>,
        created_by_label -> Text,
        expires_at -> Nullable<BigInt>,
        sliding_days -> Nullable<Integer>,
        rotated_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        last_used_ip -> Nullable<Text>,
        last_used_user_agent -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
        revoked_by_label -> Nullable<Text>,
        revoke_reason -> Nullable<Text>,
        allowed_cidrs -> Text,
        rate_limit_per_minute -> Nullable<Integer>,
        owner_name -> Text,
        owner_role -> Text,
        owner_disabled -> Bool,
        search_text -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        actor_kind -> Text,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        action -> Text,
        target_kind -> Text,
        target_id -> Nullable<BigInt>,
        target_label -> Text,
        ip -> Nullable<Text>,
        details -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    saved_searches (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        query -> Text,
        shared -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    auth_epoch (id) {
        id -> Integer,
        epoch -> BigInt,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        url -> Text,
        description -> Text,
        events -> Text,
        secret_sealed -> Binary,
        secret_hint -> Text,
        enabled -> Bool,
        created_at -> BigInt,
        created_by_label -> Text,
        failing_since -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_outbox (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Nullable<BigInt>,
        claimed_until -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
        gave_up_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        outbox_id -> BigInt,
        endpoint_id -> BigInt,
        at -> BigInt,
        event_type -> Text,
        attempt -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        latency_ms -> BigInt,
        next_retry_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    token_usage_daily (token_id, day) {
        token_id -> BigInt,
        day -> BigInt,
        count -> BigInt,
    }
}

diesel::table! {
    token_client_ips (token_id, ip) {
        token_id -> BigInt,
        ip -> Text,
        first_seen -> BigInt,
        last_seen -> BigInt,
        user_agent -> Nullable<Text>,
    }
}

diesel::joinable!(tokens -> service_accounts (service_account_id));
diesel::joinable!(tokens -> users (user_id));
diesel::joinable!(saved_searches -> users (owner_id));

diesel::table! {
    webhook_expiry_notices (token_id, threshold) {
        token_id -> BigInt,
        threshold -> Integer,
        emitted_at -> BigInt,
    }
}

diesel::table! {
    token_stale_warnings (token_id) {
        token_id -> BigInt,
        activity_at -> BigInt,
        warned_at -> BigInt,
    }
}

diesel::joinable!(token_stale_warnings -> tokens (token_id));

diesel::table! {
    user_totp (user_id) {
        user_id -> BigInt,
        secret_sealed -> Binary,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Binary,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    one_time_codes,
    sessions,
    login_failures,
    service_accounts,
    tokens,
    audit_events,
    settings,
    saved_searches,
    auth_epoch,
    token_usage_daily,
    token_client_ips,
    webhook_endpoints,
    webhook_outbox,
    webhook_deliveries,
    webhook_expiry_notices,
    token_stale_warnings,
    user_totp,
    recovery_codes,
);
