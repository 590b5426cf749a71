/* layout_v1.c: the layout of ABI v1 (tests/abi/v1/roost/plugin.h), locked on x86_64.
 *
 * Written once by gen_layout.py when v1 was frozen; from then on the record, not generated.
 * Every field of every struct: its offset and size; every struct's size; every enumerator's
 * value. Compiled against the frozen header (abi_layout_v1) and against today's
 * sdk/include/roost/plugin.h (abi_layout_current_*): a plugin built against v1 must keep working,
 * so a field may only be appended, never moved, resized or removed, and no value may change.
 * Include path picks the header: -I tests/abi/v1 (with -DROOST_ABI_FROZEN) or -I sdk/include.
 * C11 (for _Static_assert with its message; the header itself is C99) or C++. */
#include <stddef.h>

#include "roost/plugin.h"

#ifdef __cplusplus
#define ROOST_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define ROOST_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#if !defined(__x86_64__)
#error "layout_v1.c records the x86_64 layout"
#endif

#define ROOST_ABI_FIELD(T, f, off, size)                                                        \
    ROOST_ABI_ASSERT(offsetof(T, f) == (off), "ABI v1: " #T "." #f " moved (offset " #off ")"); \
    ROOST_ABI_ASSERT(sizeof(((T *)0)->f) == (size), "ABI v1: " #T "." #f " changed size (" #size ")")
/* Against the frozen header (ROOST_ABI_FROZEN) a struct's size is exact; a later header may have
 * appended fields, so there it may only have grown. */
#ifdef ROOST_ABI_FROZEN
#define ROOST_ABI_SIZE(T, size) ROOST_ABI_ASSERT(sizeof(T) == (size), "ABI v1: sizeof(" #T ") is " #size)
#else
#define ROOST_ABI_SIZE(T, size) ROOST_ABI_ASSERT(sizeof(T) >= (size), "ABI v1: sizeof(" #T ") shrank below " #size)
#endif
#define ROOST_ABI_VALUE(name, value) ROOST_ABI_ASSERT((name) == (value), "ABI v1: " #name " is " #value)

/* roost_bytes */
ROOST_ABI_SIZE(roost_bytes, 16);
ROOST_ABI_FIELD(roost_bytes, data, 0, 8);
ROOST_ABI_FIELD(roost_bytes, len, 8, 8);
/* roost_option */
ROOST_ABI_SIZE(roost_option, 32);
ROOST_ABI_FIELD(roost_option, key, 0, 8);
ROOST_ABI_FIELD(roost_option, value, 8, 8);
ROOST_ABI_FIELD(roost_option, file, 16, 8);
ROOST_ABI_FIELD(roost_option, line, 24, 4);
/* roost_user_property */
ROOST_ABI_SIZE(roost_user_property, 32);
ROOST_ABI_FIELD(roost_user_property, key, 0, 16);
ROOST_ABI_FIELD(roost_user_property, value, 16, 16);
/* roost_auth_event */
ROOST_ABI_SIZE(roost_auth_event, 128);
ROOST_ABI_FIELD(roost_auth_event, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_auth_event, client, 8, 8);
ROOST_ABI_FIELD(roost_auth_event, call, 16, 8);
ROOST_ABI_FIELD(roost_auth_event, stage, 24, 4);
ROOST_ABI_FIELD(roost_auth_event, has_username, 28, 1);
ROOST_ABI_FIELD(roost_auth_event, has_password, 29, 1);
ROOST_ABI_FIELD(roost_auth_event, username, 32, 16);
ROOST_ABI_FIELD(roost_auth_event, password, 48, 16);
ROOST_ABI_FIELD(roost_auth_event, method, 64, 16);
ROOST_ABI_FIELD(roost_auth_event, data, 80, 16);
ROOST_ABI_FIELD(roost_auth_event, reason_code, 96, 1);
ROOST_ABI_FIELD(roost_auth_event, reply, 104, 16);
ROOST_ABI_FIELD(roost_auth_event, more, 120, 1);
/* roost_auth_hooks */
ROOST_ABI_SIZE(roost_auth_hooks, 24);
ROOST_ABI_FIELD(roost_auth_hooks, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_auth_hooks, authenticate, 8, 8);
ROOST_ABI_FIELD(roost_auth_hooks, continue_auth, 16, 8);
/* roost_acl_event */
ROOST_ABI_SIZE(roost_acl_event, 88);
ROOST_ABI_FIELD(roost_acl_event, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_acl_event, client, 8, 8);
ROOST_ABI_FIELD(roost_acl_event, call, 16, 8);
ROOST_ABI_FIELD(roost_acl_event, action, 24, 4);
ROOST_ABI_FIELD(roost_acl_event, topic, 32, 16);
ROOST_ABI_FIELD(roost_acl_event, payload, 48, 16);
ROOST_ABI_FIELD(roost_acl_event, qos, 64, 1);
ROOST_ABI_FIELD(roost_acl_event, retain, 65, 1);
ROOST_ABI_FIELD(roost_acl_event, reason_code, 66, 1);
ROOST_ABI_FIELD(roost_acl_event, publisher_id, 72, 16);
/* roost_acl_hooks */
ROOST_ABI_SIZE(roost_acl_hooks, 16);
ROOST_ABI_FIELD(roost_acl_hooks, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_acl_hooks, check, 8, 8);
/* roost_message_event */
ROOST_ABI_SIZE(roost_message_event, 176);
ROOST_ABI_FIELD(roost_message_event, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_message_event, client, 8, 8);
ROOST_ABI_FIELD(roost_message_event, topic, 16, 16);
ROOST_ABI_FIELD(roost_message_event, payload, 32, 16);
ROOST_ABI_FIELD(roost_message_event, qos, 48, 1);
ROOST_ABI_FIELD(roost_message_event, retain, 49, 1);
ROOST_ABI_FIELD(roost_message_event, reason_code, 50, 1);
ROOST_ABI_FIELD(roost_message_event, user_properties, 56, 8);
ROOST_ABI_FIELD(roost_message_event, user_property_count, 64, 8);
ROOST_ABI_FIELD(roost_message_event, content_type, 72, 16);
ROOST_ABI_FIELD(roost_message_event, response_topic, 88, 16);
ROOST_ABI_FIELD(roost_message_event, correlation_data, 104, 16);
ROOST_ABI_FIELD(roost_message_event, new_topic, 120, 16);
ROOST_ABI_FIELD(roost_message_event, new_payload, 136, 16);
ROOST_ABI_FIELD(roost_message_event, new_user_properties, 152, 8);
ROOST_ABI_FIELD(roost_message_event, new_user_property_count, 160, 8);
ROOST_ABI_FIELD(roost_message_event, set_user_properties, 168, 1);
/* roost_message_hooks */
ROOST_ABI_SIZE(roost_message_hooks, 24);
ROOST_ABI_FIELD(roost_message_hooks, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_message_hooks, on_publish, 8, 8);
ROOST_ABI_FIELD(roost_message_hooks, on_routed, 16, 8);
/* roost_stored_message */
ROOST_ABI_SIZE(roost_stored_message, 96);
ROOST_ABI_FIELD(roost_stored_message, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_stored_message, id, 8, 8);
ROOST_ABI_FIELD(roost_stored_message, topic, 16, 16);
ROOST_ABI_FIELD(roost_stored_message, payload, 32, 16);
ROOST_ABI_FIELD(roost_stored_message, qos, 48, 1);
ROOST_ABI_FIELD(roost_stored_message, retain, 49, 1);
ROOST_ABI_FIELD(roost_stored_message, expires_at_ms, 56, 8);
ROOST_ABI_FIELD(roost_stored_message, properties, 64, 16);
ROOST_ABI_FIELD(roost_stored_message, origin_client_id, 80, 16);
/* roost_session_record */
ROOST_ABI_SIZE(roost_session_record, 56);
ROOST_ABI_FIELD(roost_session_record, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_session_record, client_id, 8, 16);
ROOST_ABI_FIELD(roost_session_record, expiry_interval, 24, 4);
ROOST_ABI_FIELD(roost_session_record, disconnected_at_ms, 32, 8);
ROOST_ABI_FIELD(roost_session_record, will, 40, 8);
ROOST_ABI_FIELD(roost_session_record, will_due_ms, 48, 8);
/* roost_subscription_record */
ROOST_ABI_SIZE(roost_subscription_record, 48);
ROOST_ABI_FIELD(roost_subscription_record, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_subscription_record, client_id, 8, 16);
ROOST_ABI_FIELD(roost_subscription_record, filter, 24, 16);
ROOST_ABI_FIELD(roost_subscription_record, qos, 40, 1);
ROOST_ABI_FIELD(roost_subscription_record, no_local, 41, 1);
ROOST_ABI_FIELD(roost_subscription_record, retain_as_published, 42, 1);
ROOST_ABI_FIELD(roost_subscription_record, retain_handling, 43, 1);
ROOST_ABI_FIELD(roost_subscription_record, subscription_id, 44, 4);
/* roost_delivery_record */
ROOST_ABI_SIZE(roost_delivery_record, 64);
ROOST_ABI_FIELD(roost_delivery_record, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_delivery_record, client_id, 8, 16);
ROOST_ABI_FIELD(roost_delivery_record, message_id, 24, 8);
ROOST_ABI_FIELD(roost_delivery_record, sequence, 32, 8);
ROOST_ABI_FIELD(roost_delivery_record, packet_id, 40, 2);
ROOST_ABI_FIELD(roost_delivery_record, qos, 42, 1);
ROOST_ABI_FIELD(roost_delivery_record, retain, 43, 1);
ROOST_ABI_FIELD(roost_delivery_record, state, 44, 4);
ROOST_ABI_FIELD(roost_delivery_record, subscription_ids, 48, 8);
ROOST_ABI_FIELD(roost_delivery_record, subscription_id_count, 56, 8);
/* roost_restore_sink */
ROOST_ABI_SIZE(roost_restore_sink, 56);
ROOST_ABI_FIELD(roost_restore_sink, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_restore_sink, ctx, 8, 8);
ROOST_ABI_FIELD(roost_restore_sink, message, 16, 8);
ROOST_ABI_FIELD(roost_restore_sink, retained, 24, 8);
ROOST_ABI_FIELD(roost_restore_sink, session, 32, 8);
ROOST_ABI_FIELD(roost_restore_sink, subscription, 40, 8);
ROOST_ABI_FIELD(roost_restore_sink, delivery, 48, 8);
/* roost_persistence_hooks */
ROOST_ABI_SIZE(roost_persistence_hooks, 88);
ROOST_ABI_FIELD(roost_persistence_hooks, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_persistence_hooks, restore, 8, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, session_save, 16, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, session_delete, 24, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, subscription_save, 32, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, subscription_delete, 40, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, message_store, 48, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, message_release, 56, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, delivery_save, 64, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, delivery_delete, 72, 8);
ROOST_ABI_FIELD(roost_persistence_hooks, retained_set, 80, 8);
/* roost_transport_hooks */
ROOST_ABI_SIZE(roost_transport_hooks, 72);
ROOST_ABI_FIELD(roost_transport_hooks, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_transport_hooks, name, 8, 8);
ROOST_ABI_FIELD(roost_transport_hooks, conn_state_size, 16, 8);
ROOST_ABI_FIELD(roost_transport_hooks, open, 24, 8);
ROOST_ABI_FIELD(roost_transport_hooks, decode, 32, 8);
ROOST_ABI_FIELD(roost_transport_hooks, encode, 40, 8);
ROOST_ABI_FIELD(roost_transport_hooks, close, 48, 8);
ROOST_ABI_FIELD(roost_transport_hooks, flush, 56, 8);
ROOST_ABI_FIELD(roost_transport_hooks, drained, 64, 8);
/* roost_lifecycle_hooks */
ROOST_ABI_SIZE(roost_lifecycle_hooks, 64);
ROOST_ABI_FIELD(roost_lifecycle_hooks, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_lifecycle_hooks, worker_start, 8, 8);
ROOST_ABI_FIELD(roost_lifecycle_hooks, worker_stop, 16, 8);
ROOST_ABI_FIELD(roost_lifecycle_hooks, on_connect, 24, 8);
ROOST_ABI_FIELD(roost_lifecycle_hooks, on_disconnect, 32, 8);
ROOST_ABI_FIELD(roost_lifecycle_hooks, tick, 40, 8);
ROOST_ABI_FIELD(roost_lifecycle_hooks, client_release, 48, 8);
ROOST_ABI_FIELD(roost_lifecycle_hooks, reload, 56, 8);
/* roost_host */
ROOST_ABI_SIZE(roost_host, 248);
ROOST_ABI_FIELD(roost_host, struct_size, 0, 4);
ROOST_ABI_FIELD(roost_host, abi_version, 4, 4);
ROOST_ABI_FIELD(roost_host, broker_version, 8, 8);
ROOST_ABI_FIELD(roost_host, hook_register, 16, 8);
ROOST_ABI_FIELD(roost_host, log, 24, 8);
ROOST_ABI_FIELD(roost_host, complete, 32, 8);
ROOST_ABI_FIELD(roost_host, post, 40, 8);
ROOST_ABI_FIELD(roost_host, publish, 48, 8);
ROOST_ABI_FIELD(roost_host, client_info, 56, 8);
ROOST_ABI_FIELD(roost_host, client_protocol, 64, 8);
ROOST_ABI_FIELD(roost_host, client_attribute, 72, 8);
ROOST_ABI_FIELD(roost_host, disconnect, 80, 8);
ROOST_ABI_FIELD(roost_host, conn_deliver, 88, 8);
ROOST_ABI_FIELD(roost_host, conn_send, 96, 8);
ROOST_ABI_FIELD(roost_host, conn_set_attribute, 104, 8);
ROOST_ABI_FIELD(roost_host, conn_close, 112, 8);
ROOST_ABI_FIELD(roost_host, timer_start, 120, 8);
ROOST_ABI_FIELD(roost_host, worker_index, 128, 8);
ROOST_ABI_FIELD(roost_host, worker_count, 136, 8);
ROOST_ABI_FIELD(roost_host, strerror, 144, 8);
ROOST_ABI_FIELD(roost_host, timer_stop, 152, 8);
ROOST_ABI_FIELD(roost_host, conn_timer_start, 160, 8);
ROOST_ABI_FIELD(roost_host, conn_backlog, 168, 8);
ROOST_ABI_FIELD(roost_host, conn_pause_reading, 176, 8);
ROOST_ABI_FIELD(roost_host, conn_resume_reading, 184, 8);
ROOST_ABI_FIELD(roost_host, conn_info, 192, 8);
ROOST_ABI_FIELD(roost_host, client_data_set, 200, 8);
ROOST_ABI_FIELD(roost_host, client_data_get, 208, 8);
ROOST_ABI_FIELD(roost_host, client_ref, 216, 8);
ROOST_ABI_FIELD(roost_host, client_from_ref, 224, 8);
ROOST_ABI_FIELD(roost_host, client_ref_disconnect, 232, 8);
ROOST_ABI_FIELD(roost_host, complete_many, 240, 8);
/* enumerators and macros */
ROOST_ABI_VALUE(ROOST_RC_SUCCESS, 0);
ROOST_ABI_VALUE(ROOST_RC_GRANTED_QOS_1, 1);
ROOST_ABI_VALUE(ROOST_RC_GRANTED_QOS_2, 2);
ROOST_ABI_VALUE(ROOST_RC_DISCONNECT_WITH_WILL, 4);
ROOST_ABI_VALUE(ROOST_RC_NO_MATCHING_SUBSCRIBERS, 16);
ROOST_ABI_VALUE(ROOST_RC_NO_SUBSCRIPTION_EXISTED, 17);
ROOST_ABI_VALUE(ROOST_RC_CONTINUE_AUTHENTICATION, 24);
ROOST_ABI_VALUE(ROOST_RC_REAUTHENTICATE, 25);
ROOST_ABI_VALUE(ROOST_RC_UNSPECIFIED_ERROR, 128);
ROOST_ABI_VALUE(ROOST_RC_MALFORMED_PACKET, 129);
ROOST_ABI_VALUE(ROOST_RC_PROTOCOL_ERROR, 130);
ROOST_ABI_VALUE(ROOST_RC_IMPLEMENTATION_SPECIFIC_ERROR, 131);
ROOST_ABI_VALUE(ROOST_RC_UNSUPPORTED_PROTOCOL_VERSION, 132);
ROOST_ABI_VALUE(ROOST_RC_CLIENT_IDENTIFIER_NOT_VALID, 133);
ROOST_ABI_VALUE(ROOST_RC_BAD_USERNAME_OR_PASSWORD, 134);
ROOST_ABI_VALUE(ROOST_RC_NOT_AUTHORIZED, 135);
ROOST_ABI_VALUE(ROOST_RC_SERVER_UNAVAILABLE, 136);
ROOST_ABI_VALUE(ROOST_RC_SERVER_BUSY, 137);
ROOST_ABI_VALUE(ROOST_RC_BANNED, 138);
ROOST_ABI_VALUE(ROOST_RC_SERVER_SHUTTING_DOWN, 139);
ROOST_ABI_VALUE(ROOST_RC_BAD_AUTHENTICATION_METHOD, 140);
ROOST_ABI_VALUE(ROOST_RC_KEEP_ALIVE_TIMEOUT, 141);
ROOST_ABI_VALUE(ROOST_RC_SESSION_TAKEN_OVER, 142);
ROOST_ABI_VALUE(ROOST_RC_TOPIC_FILTER_INVALID, 143);
ROOST_ABI_VALUE(ROOST_RC_TOPIC_NAME_INVALID, 144);
ROOST_ABI_VALUE(ROOST_RC_PACKET_IDENTIFIER_IN_USE, 145);
ROOST_ABI_VALUE(ROOST_RC_PACKET_IDENTIFIER_NOT_FOUND, 146);
ROOST_ABI_VALUE(ROOST_RC_RECEIVE_MAXIMUM_EXCEEDED, 147);
ROOST_ABI_VALUE(ROOST_RC_TOPIC_ALIAS_INVALID, 148);
ROOST_ABI_VALUE(ROOST_RC_PACKET_TOO_LARGE, 149);
ROOST_ABI_VALUE(ROOST_RC_MESSAGE_RATE_TOO_HIGH, 150);
ROOST_ABI_VALUE(ROOST_RC_QUOTA_EXCEEDED, 151);
ROOST_ABI_VALUE(ROOST_RC_ADMINISTRATIVE_ACTION, 152);
ROOST_ABI_VALUE(ROOST_RC_PAYLOAD_FORMAT_INVALID, 153);
ROOST_ABI_VALUE(ROOST_RC_RETAIN_NOT_SUPPORTED, 154);
ROOST_ABI_VALUE(ROOST_RC_QOS_NOT_SUPPORTED, 155);
ROOST_ABI_VALUE(ROOST_RC_USE_ANOTHER_SERVER, 156);
ROOST_ABI_VALUE(ROOST_RC_SERVER_MOVED, 157);
ROOST_ABI_VALUE(ROOST_RC_SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, 158);
ROOST_ABI_VALUE(ROOST_RC_CONNECTION_RATE_EXCEEDED, 159);
ROOST_ABI_VALUE(ROOST_RC_MAXIMUM_CONNECT_TIME, 160);
ROOST_ABI_VALUE(ROOST_RC_SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, 161);
ROOST_ABI_VALUE(ROOST_RC_WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, 162);
ROOST_ABI_VALUE(ROOST_OK, 0);
ROOST_ABI_VALUE(ROOST_EINVAL, -1);
ROOST_ABI_VALUE(ROOST_ENOMEM, -2);
ROOST_ABI_VALUE(ROOST_EGONE, -3);
ROOST_ABI_VALUE(ROOST_ENOTSUP, -4);
ROOST_ABI_VALUE(ROOST_LOG_ERROR, 0);
ROOST_ABI_VALUE(ROOST_LOG_WARNING, 1);
ROOST_ABI_VALUE(ROOST_LOG_INFO, 2);
ROOST_ABI_VALUE(ROOST_LOG_DEBUG, 3);
ROOST_ABI_VALUE(ROOST_ALLOW, 0);
ROOST_ABI_VALUE(ROOST_DENY, 1);
ROOST_ABI_VALUE(ROOST_NEXT, 2);
ROOST_ABI_VALUE(ROOST_PENDING, 3);
ROOST_ABI_VALUE(ROOST_AUTH_CONNECT, 1);
ROOST_ABI_VALUE(ROOST_AUTH_CONTINUE, 2);
ROOST_ABI_VALUE(ROOST_AUTH_REAUTH, 3);
ROOST_ABI_VALUE(ROOST_ACL_PUBLISH, 1);
ROOST_ABI_VALUE(ROOST_ACL_SUBSCRIBE, 2);
ROOST_ABI_VALUE(ROOST_ACL_DELIVER, 3);
ROOST_ABI_VALUE(ROOST_DELIVERY_QUEUED, 0);
ROOST_ABI_VALUE(ROOST_DELIVERY_AWAIT_PUBACK, 1);
ROOST_ABI_VALUE(ROOST_DELIVERY_AWAIT_PUBREC, 2);
ROOST_ABI_VALUE(ROOST_DELIVERY_AWAIT_PUBCOMP, 3);
ROOST_ABI_VALUE(ROOST_HOOK_AUTH, 1);
ROOST_ABI_VALUE(ROOST_HOOK_ACL, 2);
ROOST_ABI_VALUE(ROOST_HOOK_MESSAGE, 3);
ROOST_ABI_VALUE(ROOST_HOOK_TRANSPORT, 4);
ROOST_ABI_VALUE(ROOST_HOOK_PERSISTENCE, 5);
ROOST_ABI_VALUE(ROOST_HOOK_LIFECYCLE, 6);
ROOST_ABI_VALUE(ROOST_CLIENT_ID, 1);
ROOST_ABI_VALUE(ROOST_CLIENT_USERNAME, 2);
ROOST_ABI_VALUE(ROOST_CLIENT_ADDRESS, 3);
ROOST_ABI_VALUE(ROOST_CLIENT_LISTENER, 4);
ROOST_ABI_VALUE(ROOST_CLIENT_TRANSPORT, 5);
ROOST_ABI_VALUE(ROOST_ABI_V1, 1);
ROOST_ABI_SIZE(roost_verdict, 4);
ROOST_ABI_SIZE(roost_auth_stage, 4);
ROOST_ABI_SIZE(roost_acl_action, 4);
ROOST_ABI_SIZE(roost_delivery_state, 4);
ROOST_ABI_SIZE(roost_hook_kind, 4);
ROOST_ABI_SIZE(roost_client_field, 4);
ROOST_ABI_SIZE(roost_client_ref, 8);
ROOST_ABI_SIZE(roost_timer, 8);

/* The ROOST_HAS idiom a plugin uses to probe a newer field must keep meaning "struct_size
 * covers the whole field". */
#include <string.h>

int roost_abi_layout_v1_checked(void);
int roost_abi_layout_v1_checked(void) {
    roost_host full, older;
    memset(&full, 0, sizeof full);
    full.struct_size = (uint32_t)sizeof(roost_host);
    older = full;
    /* A struct_size that stops before a field says the field is absent. */
    older.struct_size = (uint32_t)offsetof(roost_host, complete_many);
    if (!ROOST_HAS(&full, roost_host, complete_many)) return 1;
    if (ROOST_HAS(&older, roost_host, complete_many)) return 2;
    if (!ROOST_HAS(&older, roost_host, client_ref_disconnect)) return 3;
    return 0;
}
