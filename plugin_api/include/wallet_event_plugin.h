/*
 * wallet_event_plugin.h -- the C ABI between wallet-eventd and its handler plugins.
 *
 * A plugin is a shared library that exports exactly one symbol, `wep_plugin_entry`. The host
 * calls it once after loading, hands it a description of itself, and gets back the plugin's
 * descriptor: names, subscriptions, config keys and the hooks the host calls. Everything the
 * plugin may ask of the host (logging, publishing, metrics, a clock) reaches it through the
 * `wep_host_api` table; a plugin never links against the host.
 *
 * This header is C99 and compiles unchanged as C++. Nothing but C types crosses it: no C++
 * types, no exceptions, no memory allocated on one side and freed on the other.
 *
 * VERSIONING
 *   WEP_ABI_MAJOR changes when anything is removed, reordered, retyped or given new meaning.
 *   A host refuses a plugin whose major differs from its own, naming both versions.
 *   WEP_ABI_MINOR changes when a field is appended to the end of a struct, a constant is added
 *   or a hook/host function is appended. Any 1.x host loads any 1.y plugin:
 *     - every struct that crosses starts with `size_t struct_size`, set by whoever fills it in
 *       (use WEP_STRUCT_SIZE); the reader uses WEP_HAS_FIELD before touching a field that was
 *       appended after 1.0, and treats fields past `struct_size` as absent (NULL / 0);
 *     - a plugin that needs a host function added in 1.y sets `min_host_abi_minor` = y; an
 *       older host refuses it with a message instead of calling through a missing pointer.
 *   Fields and constants marked "since 1.0" are frozen; tests/abi holds a frozen copy of the
 *   1.0 header and a plugin built against it, and layout asserts fail the build on a change.
 *
 * CONVENTIONS
 *   - Byte strings are `wep_str` {ptr, len}: not NUL-terminated unless stated, may contain any
 *     bytes, ptr may be NULL when len is 0.
 *   - Arrays that cross are arrays of pointers, so that each element can grow on its own.
 *   - Status codes are `int32_t` holding WEP_* constants (enums are not ABI-stable in size).
 *   - Error text goes into a buffer the caller owns (`char *err, size_t err_cap`); the callee
 *     writes at most err_cap bytes including the terminating NUL (use wep_write_message).
 *   - Every pointer parameter and field says who owns it and how long it stays valid
 *     (OWNERSHIP paragraphs below).
 *
 * THREADING
 *   The host calls `handle_batch`, `flush` and `shutdown` of one instance from one thread at a
 *   time, unless the descriptor sets WEP_PLUGIN_THREAD_SAFE, in which case it may call
 *   `handle_batch` of one instance concurrently (for different partitions). Different instances,
 *   even of the same plugin, may run on different threads at the same time: keep no unguarded
 *   global state. Every wep_host_api function may be called from any thread, at any time between
 *   `create` returning and `destroy` being called, except where stated.
 */
#ifndef WALLET_EVENT_PLUGIN_H_
#define WALLET_EVENT_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------------------------ */

#define WEP_ABI_MAJOR 1
#define WEP_ABI_MINOR 0

/* Size of a struct up to and including `last_field`: what a 1.y writer puts in struct_size. */
#define WEP_STRUCT_SIZE(type, last_field) \
  (offsetof(type, last_field) + sizeof(((type*)0)->last_field))

/* True when the struct at `ptr` (of C type `type`) is large enough to hold `field`. */
#define WEP_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= WEP_STRUCT_SIZE(type, field))

#if defined(_WIN32)
#define WEP_EXPORT __declspec(dllexport)
#else
#define WEP_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Status codes (since 1.0) ------------------------------------------------------------- */

#define WEP_OK 0
#define WEP_ERR_INVALID_ARGUMENT 1 /* a parameter or the config is wrong; not worth retrying */
#define WEP_ERR_CONFIG 2           /* the instance config was rejected */
#define WEP_ERR_UNAVAILABLE 3      /* a dependency is down; retrying later may succeed */
#define WEP_ERR_TIMEOUT 4          /* the operation did not finish in time */
#define WEP_ERR_UNSUPPORTED 5      /* the other side does not offer this (e.g. older minor) */
#define WEP_ERR_INTERNAL 6         /* a bug or an unexpected state */

/* ---- Byte strings (since 1.0) ------------------------------------------------------------- */

/* OWNERSHIP: a view; never owns its bytes. Each use states how long the bytes live. */
typedef struct wep_str {
  const char* ptr;
  size_t len;
} wep_str;

/* Kafka record header. Layout frozen for all 1.x (it has no size field and never grows).
 * OWNERSHIP: as the array that holds it. */
typedef struct wep_header {
  wep_str key;
  wep_str value;
} wep_header;

/* ---- Event types (since 1.0; new types are appended, numbers never reused) ---------------- */

#define WEP_EVENT_UNKNOWN 0
#define WEP_EVENT_CREDENTIAL_OFFER_SENT 1
#define WEP_EVENT_CREDENTIAL_OFFER_RECEIVED 2
#define WEP_EVENT_CREDENTIAL_ISSUED 3
#define WEP_EVENT_CREDENTIAL_ACKNOWLEDGED 4
#define WEP_EVENT_CREDENTIAL_STORED 5
#define WEP_EVENT_CREDENTIAL_DELETED 6
#define WEP_EVENT_PRESENTATION_REQUEST_SENT 7
#define WEP_EVENT_PRESENTATION_REQUEST_RECEIVED 8
#define WEP_EVENT_PRESENTATION_SUBMITTED 9
#define WEP_EVENT_PRESENTATION_VERIFIED 10
#define WEP_EVENT_KEY_CREATED 11
#define WEP_EVENT_KEY_ROTATED 12
#define WEP_EVENT_KEY_REVOKED 13
#define WEP_EVENT_TYPE_COUNT 14 /* one past the highest type this header knows */

/* Bit for an event type in wep_plugin_descriptor.subscriptions. */
#define WEP_EVENT_BIT(type) ((uint64_t)1 << (type))
#define WEP_EVENT_ALL ((uint64_t)0) /* subscriptions == 0: every type, including later ones */

/* ---- Events (since 1.0) ------------------------------------------------------------------- */

/* One decoded, validated wallet event as the host hands it to a plugin.
 *
 * The host has already checked the envelope, the metadata and every required field of the
 * type; `raw_json` is the record value exactly as it came from Kafka (unknown fields intact),
 * for plugins that need payload fields beyond the metadata.
 *
 * OWNERSHIP: the host owns the struct and every byte it points to; valid only until the hook
 * it was passed to returns. Copy what you keep. */
typedef struct wep_event {
  size_t struct_size;
  int32_t event_type;        /* WEP_EVENT_*; a type newer than the plugin's header is > its count */
  wep_str event_type_name;   /* e.g. "CredentialStored" */
  wep_str event_id;          /* UUID as on the wire */
  wep_str timestamp;         /* RFC 3339, normalised to UTC ("...Z") */
  int64_t timestamp_unix_ns; /* the same instant, nanoseconds since the Unix epoch, UTC */
  wep_str correlation_id;
  wep_str wallet_id;
  wep_str schema_version;
  wep_str raw_json; /* the whole record value: {"event_type": ..., "payload": {...}} */
  wep_str topic;
  int32_t partition;
  int64_t offset;
  wep_str key;               /* Kafka record key (the wallet_id for conforming producers) */
  const wep_header* headers; /* array of header_count headers */
  size_t header_count;
  uint32_t delivery_attempt; /* 1 on first delivery, 2 on the first retry, ... */
} wep_event;

/* ---- Per-event results (since 1.0) -------------------------------------------------------- */

#define WEP_RESULT_UNSET (-1) /* as the host hands it in; left unset = failed, dead-lettered */
#define WEP_RESULT_DONE 0     /* handled; the offset may move past it */
#define WEP_RESULT_RETRY 1    /* transient failure; redelivered after backoff, then DLQ */
#define WEP_RESULT_FAILED 2   /* permanent failure; dead-lettered at once with `message` */

/* OWNERSHIP: the host owns the struct and the message buffer; the plugin writes `code`,
 * optionally `retry_after_ms`, and at most `message_capacity` bytes (NUL included) into
 * `message` during handle_batch. The message ends up in the DLQ `error` header and the log. */
typedef struct wep_event_result {
  size_t struct_size;
  int32_t code;            /* WEP_RESULT_*; WEP_RESULT_UNSET on entry */
  uint32_t retry_after_ms; /* RETRY only: minimum delay before redelivery; 0 = policy backoff */
  char* message;           /* host-owned buffer, message[0] == '\0' on entry */
  size_t message_capacity;
} wep_event_result;

/* A batch: what one poll of the instance's consumer brought, filtered to the instance's types.
 * It may hold events of several partitions (as a Kafka Connect sink task's put() does); the
 * events of each partition are in offset order. Retried events are redelivered before the next
 * batch, so a later batch never overtakes them.
 * OWNERSHIP: host-owned, valid until handle_batch returns. `events[i]` belongs to
 * `results[i]`. */
typedef struct wep_batch {
  size_t struct_size;
  const wep_event* const* events;
  wep_event_result* const* results;
  size_t count;
  uint64_t deadline_ns; /* wep_host_api.monotonic_ns() value by which the call should return */
} wep_batch;

/* ---- Config keys (since 1.0) -------------------------------------------------------------- */

#define WEP_CONFIG_STRING 1
#define WEP_CONFIG_INT 2    /* JSON integer, int64 range */
#define WEP_CONFIG_DOUBLE 3 /* JSON number */
#define WEP_CONFIG_BOOL 4
#define WEP_CONFIG_STRING_LIST 5
#define WEP_CONFIG_OBJECT 6 /* any JSON object; the plugin validates its inside */
#define WEP_CONFIG_LIST 7   /* any JSON array */

/* One key of the instance's `config:` block. The host refuses unknown keys (with a suggestion),
 * wrong types and missing required keys before it calls `create`, fills in defaults, and prints
 * these in `plugins inspect`.
 * OWNERSHIP: plugin-owned, static; valid while the library is loaded. */
typedef struct wep_config_key {
  size_t struct_size;
  const char* name;         /* NUL-terminated, e.g. "directory" */
  int32_t type;             /* WEP_CONFIG_* */
  int32_t required;         /* 1 = must be present; then default_json is NULL */
  const char* default_json; /* JSON text of the default, or NULL for none */
  const char* description;  /* one line, NUL-terminated */
} wep_config_key;

/* ---- Metrics (since 1.0) ------------------------------------------------------------------ */

#define WEP_METRIC_COUNTER 1   /* record(): adds value (>= 0) */
#define WEP_METRIC_GAUGE 2     /* record(): sets value */
#define WEP_METRIC_HISTOGRAM 3 /* record(): observes value */

/* OWNERSHIP: caller-owned; read during metric_register only. */
typedef struct wep_metric_desc {
  size_t struct_size;
  int32_t kind; /* WEP_METRIC_* */
  wep_str name; /* Prometheus name, e.g. "wallet_events_total" */
  wep_str help;
  const wep_str* label_names; /* label_count names; the host adds `instance` itself */
  size_t label_count;
  const double* buckets; /* HISTOGRAM: ascending upper bounds; NULL = host default */
  size_t bucket_count;
} wep_metric_desc;

/* Opaque metric handle. OWNERSHIP: host-owned; valid until the instance is destroyed. */
typedef struct wep_metric wep_metric;

/* Opaque per-instance host context. OWNERSHIP: host-owned; valid from create until destroy
 * returns. */
typedef struct wep_host_ctx wep_host_ctx;

/* ---- Host function table (since 1.0; functions are only ever appended) -------------------- */

#define WEP_LOG_TRACE 0
#define WEP_LOG_DEBUG 1
#define WEP_LOG_INFO 2
#define WEP_LOG_WARN 3
#define WEP_LOG_ERROR 4

/* OWNERSHIP: host-owned, static; valid while the library is loaded. */
typedef struct wep_host_api {
  size_t struct_size;
  uint32_t abi_major; /* the host's WEP_ABI_MAJOR / WEP_ABI_MINOR */
  uint32_t abi_minor;

  /* Writes one line to the host's log, tagged with the instance name. Never log bearer
   * material (credentials, vp_tokens, codes, attestations). */
  void (*log)(wep_host_ctx* ctx, int32_t level, wep_str message);

  /* Publishes one record to "<topic prefix>.<topic_suffix>" (e.g. "security.alerts") through
   * the host's idempotent producer, with `key` and the given headers, and waits until the
   * broker acknowledged it. Returns WEP_OK, or WEP_ERR_UNAVAILABLE / WEP_ERR_TIMEOUT with a
   * reason in err. All buffers are caller-owned and read before the call returns. */
  int32_t (*publish)(wep_host_ctx* ctx, wep_str topic_suffix, wep_str key, wep_str value,
                     const wep_header* headers, size_t header_count, char* err, size_t err_cap);

  /* Registers a metric shown on the host's /metrics endpoint with an `instance` label added.
   * Registering the same name and kind twice returns the same handle. Call from create (or
   * later); returns WEP_OK and sets *out, or an error code with a reason in err. */
  int32_t (*metric_register)(wep_host_ctx* ctx, const wep_metric_desc* desc, wep_metric** out,
                             char* err, size_t err_cap);

  /* Records a value for the label values given (label_count must match the registration). */
  void (*metric_record)(wep_metric* metric, const wep_str* label_values, size_t label_count,
                        double value);

  /* Monotonic clock in nanoseconds, the one deadlines are expressed in. */
  uint64_t (*monotonic_ns)(void);
} wep_host_api;

/* ---- Instances (since 1.0) ---------------------------------------------------------------- */

/* What the host tells `create`. OWNERSHIP: host-owned, valid only during create (copy what you
 * keep), except `host` and `ctx`, valid until destroy returns. */
typedef struct wep_instance_info {
  size_t struct_size;
  const wep_host_api* host;
  wep_host_ctx* ctx;     /* pass to every host function */
  wep_str instance_name; /* the YAML key, e.g. "audit" */
  wep_str config_json;   /* the instance's `config:` object as JSON, defaults filled in */
  wep_str state_dir;     /* a directory the instance may write to (exists; may be empty) */
  wep_str topic_prefix;  /* e.g. "wallet" */
} wep_instance_info;

/* Opaque plugin-side instance. OWNERSHIP: plugin-owned; freed by `destroy`. */
typedef struct wep_instance wep_instance;

/* ---- The plugin descriptor (since 1.0) ---------------------------------------------------- */

#define WEP_PLUGIN_THREAD_SAFE 0x1u /* handle_batch of one instance may run concurrently */
#define WEP_PLUGIN_OPEN_CONFIG 0x2u /* accept config keys beyond config_keys (not checked) */

/* OWNERSHIP: plugin-owned, static; must stay valid and unchanged while the library is loaded.
 * All strings are NUL-terminated. */
typedef struct wep_plugin_descriptor {
  size_t struct_size;
  uint32_t abi_major;          /* set to WEP_ABI_MAJOR */
  uint32_t abi_minor;          /* set to WEP_ABI_MINOR */
  uint32_t min_host_abi_minor; /* lowest host minor whose table this plugin needs (0 = any) */
  uint32_t flags;              /* WEP_PLUGIN_* */
  const char* name;            /* e.g. "audit"; [a-z0-9_-]+ */
  const char* version;         /* the plugin's own version, e.g. "1.2.0" */
  const char* vendor;
  const char* description; /* one line */
  uint64_t subscriptions;  /* WEP_EVENT_BIT()s, or WEP_EVENT_ALL */
  const wep_config_key* const* config_keys;
  size_t config_key_count;

  /* Creates an instance from `info->config_json`. Returns WEP_OK and sets *out, or
   * WEP_ERR_CONFIG (or another code) with a reason for the operator in err; the host then
   * refuses to start. Must not block for long: no network round trips that can hang. */
  int32_t (*create)(const wep_instance_info* info, wep_instance** out, char* err, size_t err_cap);

  /* Frees everything the instance owns. Called exactly once per successful create, after the
   * last other hook returned. */
  void (*destroy)(wep_instance* instance);

  /* Handles a batch: sets results[i]->code for every event. Returns WEP_OK when results are
   * set; any other code means the whole batch is to be retried (err says why). */
  int32_t (*handle_batch)(wep_instance* instance, const wep_batch* batch, char* err,
                          size_t err_cap);

  /* Optional (NULL if unused). Called before the host commits offsets past events the instance
   * reported done: make them durable. Non-OK means "not durable": the host does not commit and
   * redelivers from the last committed offset. */
  int32_t (*flush)(wep_instance* instance, char* err, size_t err_cap);

  /* Optional (NULL if unused). Called once before destroy when the host stops or reloads:
   * finish in-flight work by `deadline_ns` (monotonic). handle_batch is not called after it. */
  int32_t (*shutdown)(wep_instance* instance, uint64_t deadline_ns, char* err, size_t err_cap);
} wep_plugin_descriptor;

/* What the host tells the entry point. OWNERSHIP: host-owned; valid only during the call. */
typedef struct wep_host_info {
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* host_version; /* e.g. "1.0.0" */
} wep_host_info;

/* The one symbol a plugin exports. Returns the plugin's static descriptor, or NULL if the
 * plugin cannot work with this host (e.g. it needs a newer minor). The host calls it once per
 * load, before any instance is created. */
typedef const wep_plugin_descriptor* (*wep_plugin_entry_fn)(const wep_host_info* host);

#define WEP_ENTRY_SYMBOL "wep_plugin_entry"

/* Declare the entry point in the plugin's source with:
 *   WEP_PLUGIN_ENTRY { return &my_descriptor; }
 * (the parameter is named `host`; C linkage is added in C++). */
#ifdef __cplusplus
#define WEP_EXTERN_C extern "C"
#else
#define WEP_EXTERN_C
#endif
#define WEP_PLUGIN_ENTRY \
  WEP_EXTERN_C WEP_EXPORT const wep_plugin_descriptor* wep_plugin_entry(const wep_host_info* host)

/* ---- Helpers (header-only; no ABI of their own) ------------------------------------------- */

static inline wep_str wep_str_from_cstr(const char* s) {
  wep_str out;
  out.ptr = s;
  out.len = s != NULL ? strlen(s) : 0;
  return out;
}

/* Copies `msg` into a caller-owned buffer of `cap` bytes, truncating, always NUL-terminating. */
static inline void wep_write_message(char* buf, size_t cap, const char* msg, size_t len) {
  if (buf == NULL || cap == 0) return;
  if (msg == NULL) len = 0;
  if (len > cap - 1) len = cap - 1;
  if (len > 0) memcpy(buf, msg, len);
  buf[len] = '\0';
}

/* Sets one event's result and message (message may be NULL). */
static inline void wep_set_result(wep_event_result* r, int32_t code, const char* message) {
  if (r == NULL) return;
  r->code = code;
  wep_write_message(r->message, r->message_capacity, message,
                    message != NULL ? strlen(message) : 0);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WALLET_EVENT_PLUGIN_H_ */
