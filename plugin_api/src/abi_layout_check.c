/* Layout asserts for the ABI 1.0 structs on LP64 targets (x86_64, aarch64).
 *
 * These structs are frozen: a field may only be appended. If one of these checks fails, the
 * change broke every plugin built against 1.0: append the field at the end instead (and bump
 * WEP_ABI_MINOR), or bump WEP_ABI_MAJOR if the break is intended. C99 has no _Static_assert,
 * so each check is an array whose size goes negative when it fails. */
#include <stddef.h>

#include "wallet_event_plugin.h"

#if defined(__LP64__)
#define WEP_CHECK_CAT2(a, b) a##b
#define WEP_CHECK_CAT(a, b) WEP_CHECK_CAT2(a, b)
#define WEP_CHECK(cond) typedef char WEP_CHECK_CAT(wep_layout_check_, __LINE__)[(cond) ? 1 : -1]

WEP_CHECK(sizeof(wep_str) == 16);
WEP_CHECK(sizeof(wep_header) == 32);
WEP_CHECK(offsetof(wep_event, event_type) == 8);
WEP_CHECK(offsetof(wep_event, event_type_name) == 16);
WEP_CHECK(offsetof(wep_event, event_id) == 32);
WEP_CHECK(offsetof(wep_event, timestamp) == 48);
WEP_CHECK(offsetof(wep_event, timestamp_unix_ns) == 64);
WEP_CHECK(offsetof(wep_event, correlation_id) == 72);
WEP_CHECK(offsetof(wep_event, wallet_id) == 88);
WEP_CHECK(offsetof(wep_event, schema_version) == 104);
WEP_CHECK(offsetof(wep_event, raw_json) == 120);
WEP_CHECK(offsetof(wep_event, topic) == 136);
WEP_CHECK(offsetof(wep_event, partition) == 152);
WEP_CHECK(offsetof(wep_event, offset) == 160);
WEP_CHECK(offsetof(wep_event, key) == 168);
WEP_CHECK(offsetof(wep_event, headers) == 184);
WEP_CHECK(offsetof(wep_event, header_count) == 192);
WEP_CHECK(offsetof(wep_event, delivery_attempt) == 200);
WEP_CHECK(sizeof(wep_event) == 208);
WEP_CHECK(offsetof(wep_event_result, code) == 8);
WEP_CHECK(offsetof(wep_event_result, retry_after_ms) == 12);
WEP_CHECK(offsetof(wep_event_result, message) == 16);
WEP_CHECK(offsetof(wep_event_result, message_capacity) == 24);
WEP_CHECK(sizeof(wep_event_result) == 32);
WEP_CHECK(offsetof(wep_batch, events) == 8);
WEP_CHECK(offsetof(wep_batch, results) == 16);
WEP_CHECK(offsetof(wep_batch, count) == 24);
WEP_CHECK(offsetof(wep_batch, deadline_ns) == 32);
WEP_CHECK(sizeof(wep_batch) == 40);
WEP_CHECK(offsetof(wep_config_key, name) == 8);
WEP_CHECK(offsetof(wep_config_key, type) == 16);
WEP_CHECK(offsetof(wep_config_key, required) == 20);
WEP_CHECK(offsetof(wep_config_key, default_json) == 24);
WEP_CHECK(offsetof(wep_config_key, description) == 32);
WEP_CHECK(sizeof(wep_config_key) == 40);
WEP_CHECK(offsetof(wep_metric_desc, kind) == 8);
WEP_CHECK(offsetof(wep_metric_desc, name) == 16);
WEP_CHECK(offsetof(wep_metric_desc, help) == 32);
WEP_CHECK(offsetof(wep_metric_desc, label_names) == 48);
WEP_CHECK(offsetof(wep_metric_desc, label_count) == 56);
WEP_CHECK(offsetof(wep_metric_desc, buckets) == 64);
WEP_CHECK(offsetof(wep_metric_desc, bucket_count) == 72);
WEP_CHECK(sizeof(wep_metric_desc) == 80);
WEP_CHECK(offsetof(wep_host_api, abi_major) == 8);
WEP_CHECK(offsetof(wep_host_api, abi_minor) == 12);
WEP_CHECK(offsetof(wep_host_api, log) == 16);
WEP_CHECK(offsetof(wep_host_api, publish) == 24);
WEP_CHECK(offsetof(wep_host_api, metric_register) == 32);
WEP_CHECK(offsetof(wep_host_api, metric_record) == 40);
WEP_CHECK(offsetof(wep_host_api, monotonic_ns) == 48);
WEP_CHECK(sizeof(wep_host_api) == 56);
WEP_CHECK(offsetof(wep_instance_info, host) == 8);
WEP_CHECK(offsetof(wep_instance_info, ctx) == 16);
WEP_CHECK(offsetof(wep_instance_info, instance_name) == 24);
WEP_CHECK(offsetof(wep_instance_info, config_json) == 40);
WEP_CHECK(offsetof(wep_instance_info, state_dir) == 56);
WEP_CHECK(offsetof(wep_instance_info, topic_prefix) == 72);
WEP_CHECK(sizeof(wep_instance_info) == 88);
WEP_CHECK(offsetof(wep_plugin_descriptor, abi_major) == 8);
WEP_CHECK(offsetof(wep_plugin_descriptor, abi_minor) == 12);
WEP_CHECK(offsetof(wep_plugin_descriptor, min_host_abi_minor) == 16);
WEP_CHECK(offsetof(wep_plugin_descriptor, flags) == 20);
WEP_CHECK(offsetof(wep_plugin_descriptor, name) == 24);
WEP_CHECK(offsetof(wep_plugin_descriptor, version) == 32);
WEP_CHECK(offsetof(wep_plugin_descriptor, vendor) == 40);
WEP_CHECK(offsetof(wep_plugin_descriptor, description) == 48);
WEP_CHECK(offsetof(wep_plugin_descriptor, subscriptions) == 56);
WEP_CHECK(offsetof(wep_plugin_descriptor, config_keys) == 64);
WEP_CHECK(offsetof(wep_plugin_descriptor, config_key_count) == 72);
WEP_CHECK(offsetof(wep_plugin_descriptor, create) == 80);
WEP_CHECK(offsetof(wep_plugin_descriptor, destroy) == 88);
WEP_CHECK(offsetof(wep_plugin_descriptor, handle_batch) == 96);
WEP_CHECK(offsetof(wep_plugin_descriptor, flush) == 104);
WEP_CHECK(offsetof(wep_plugin_descriptor, shutdown) == 112);
WEP_CHECK(sizeof(wep_plugin_descriptor) == 120);
WEP_CHECK(offsetof(wep_host_info, abi_major) == 8);
WEP_CHECK(offsetof(wep_host_info, abi_minor) == 12);
WEP_CHECK(offsetof(wep_host_info, host_version) == 16);
WEP_CHECK(sizeof(wep_host_info) == 24);

WEP_CHECK(WEP_ABI_MAJOR == 1);
WEP_CHECK(WEP_RESULT_DONE == 0 && WEP_RESULT_RETRY == 1 && WEP_RESULT_FAILED == 2);
WEP_CHECK(WEP_EVENT_KEY_REVOKED == 13);
#endif

/* Keeps the translation unit non-empty on every target. */
int wep_abi_layout_check_anchor(void);
int wep_abi_layout_check_anchor(void) { return WEP_ABI_MAJOR; }
