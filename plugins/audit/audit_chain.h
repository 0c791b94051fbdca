// audit_chain.h -- the audit log's record format, hash chain and verifier.
//
// Shared by the audit plugin (which writes the log) and the host's `wallet-eventd audit verify
// DIR` command (which checks it). The format is specified in plugins/audit/README.md; this
// header is its one implementation.
//
// A log directory holds files `<prefix>-<seq of first record, 20 digits>.jsonl`, one record a
// line. Every line ends with `,"hash":"<64 hex>"}`; the hash is SHA-256 over the line without
// that member (the bytes before `,"hash"` followed by `}`). Each record's `prev` is the hash of
// the record before it (64 zeros for seq 1), so the records of all files form one chain.
//
// Nothing here throws except std::bad_alloc. Thread-safety: free functions; no shared state.
#ifndef WEP_AUDIT_AUDIT_CHAIN_H_
#define WEP_AUDIT_AUDIT_CHAIN_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace wep_audit {

// `prev` of the first record of a chain.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The first words of VerifyReport::error for each kind of damage.
inline constexpr std::string_view kErrHashMismatch = "hash mismatch: record was changed";
inline constexpr std::string_view kErrPrevMismatch =
    "prev does not match the previous record's hash: a record was deleted or reordered";
inline constexpr std::string_view kErrTruncated = "truncated record";
inline constexpr std::string_view kErrTruncatedLog = "truncated log";
inline constexpr std::string_view kErrSeqGap = "seq gap";
inline constexpr std::string_view kErrMalformed = "malformed record";
inline constexpr std::string_view kErrFileName = "file name does not match its first record";
inline constexpr std::string_view kErrIndexMismatch = "record differs from the index";

// ---- JSON text ---------------------------------------------------------------------------

// JSON string escaping as nlohmann's dump() does it for valid UTF-8 (ensure_ascii off): `"`,
// `\` and control characters are escaped, everything else is copied. Appends to *out with the
// quotes. Invalid UTF-8 is the caller's to refuse (nlohmann would replace it).
void append_json_string(std::string* out, std::string_view s);

// ---- Hashing -----------------------------------------------------------------------------

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

// What a sensitive value becomes in the log: {"sha256": "<hex>"}. The hash is over the UTF-8
// bytes of a string value, or over the compact JSON text (nlohmann dump()) of any other value.
nlohmann::json hashed_value(const nlohmann::json& value);

// A payload field path, one object key per element: {"grants", "authorization_code",
// "issuer_state"}.
using FieldPath = std::vector<std::string>;

// The sensitive fields every record hashes (PRODUCT.md): credential, vp_token,
// grants.pre_authorized_code.pre_authorized_code, key_attestation,
// grants.authorization_code.issuer_state.
const std::vector<FieldPath>& default_sensitive_fields();

// Parses a dotted path ("nonce", "grants.pre_authorized_code.tx_code"; a leading "payload."
// is dropped). Returns false for an empty path or an empty segment.
bool parse_field_path(std::string_view dotted, FieldPath* out);

// Replaces the value at each path of `payload` that exists and is not null by
// hashed_value(value). Paths through a missing or non-object member are skipped.
void hash_fields(nlohmann::json* payload, const std::vector<FieldPath>& paths);

// ---- Records -------------------------------------------------------------------------------

// What one record says about one event. Views; nothing is kept.
struct RecordFields {
  std::string_view recorded_at;  // RFC 3339 UTC, when the plugin wrote it
  std::string_view event_id;
  std::string_view event_type;
  std::string_view wallet_id;
  std::string_view correlation_id;
  std::string_view event_time;  // wep_event.timestamp: the host's normalised UTC form
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  bool security_relevant = false;
  // The payload as compact JSON, sensitive fields already hashed (PayloadWriter); "" -> null.
  std::string_view payload_json;
};

// Serializes `fields` as record `seq` chained after `prev`: one line including its '\n'.
// Sets *hash to the record's hash.
std::string seal_record(uint64_t seq, std::string_view prev, const RecordFields& fields,
                        std::string* hash);

// What the chain needs from a parsed record.
struct RecordInfo {
  uint64_t seq = 0;
  std::string prev;
  std::string hash;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// Checks one line (without its '\n') on its own: the hash suffix, the hash value and the JSON
// shape. Returns "" and fills *out, or the error (starting with kErrHashMismatch or
// kErrMalformed). With whole_line false, only the members before "payload" are parsed (the
// hash already vouches for the rest): about three times faster, for crash recovery.
std::string parse_record(std::string_view line, RecordInfo* out, bool whole_line = true);

// Checks that `rec` follows a record (last_seq, last_hash); last_seq 0 = start of the chain.
// Returns "" or the error (starting with kErrPrevMismatch or kErrSeqGap).
std::string check_link(uint64_t last_seq, std::string_view last_hash, const RecordInfo& rec);

// ---- Files ---------------------------------------------------------------------------------

struct LogFile {
  std::string name;  // e.g. "audit-00000000000000000001.jsonl"
  std::string path;  // dir + "/" + name
  uint64_t first_seq = 0;
};

// "<prefix>-<seq, 20 digits>.jsonl"
std::string log_file_name(std::string_view prefix, uint64_t seq);
// "<prefix>.index.json": the plugin's restart index (see IndexState).
std::string index_file_name(std::string_view prefix);

// Lists the log files of `prefix` in `dir`, in chain order. Returns "" or the error.
std::string list_log_files(const std::string& dir, std::string_view prefix,
                           std::vector<LogFile>* out);

// Reads `path` from byte `offset` and calls fn(line, end_offset) for every '\n'-terminated line
// (line without the '\n'; end_offset = file offset just past it) until fn returns false.
// Sets *tail to the bytes after the last '\n' (an unterminated final line), if tail is not
// null. Returns "" or the I/O error.
std::string scan_lines(const std::string& path, uint64_t offset,
                       const std::function<bool(std::string_view line, uint64_t end)>& fn,
                       std::string* tail);

// ---- Restart index -----------------------------------------------------------------------

// Highest Kafka offset recorded for one topic-partition.
struct HighWaterMark {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// The sidecar `<prefix>.index.json`: the chain head at a durable point and the high-water marks
// up to it. Written by the plugin after the log data it names is durable, never before, so it
// never names a record the log does not hold; a missing or unreadable index is rebuilt from
// the log.
struct IndexState {
  std::string file;   // log file name (no directory) holding record `seq`
  uint64_t size = 0;  // that file's size just past record `seq`
  uint64_t seq = 0;
  std::string hash;
  std::vector<HighWaterMark> high_water;
};

std::string index_to_json(const IndexState& index);
// Returns "" and fills *out, or why `text` is not an index.
std::string index_from_json(std::string_view text, IndexState* out);

// ---- Verification ------------------------------------------------------------------------

struct VerifyReport {
  bool ok = false;                // true only for an intact log
  uint64_t records = 0;           // records that passed every check
  uint64_t files = 0;             // log files looked at
  std::string first_error_file;   // path of the file holding the first broken record
  uint64_t first_error_line = 0;  // its 1-based line
  std::string error;              // what is wrong (starts with one of the kErr* texts)
  uint64_t last_seq = 0;          // chain head after the last good record
  std::string last_hash;
};

// Checks every record of every `<file_prefix>-*.jsonl` file in `dir` in order: each record's
// hash, its link to the record before (across files), seq continuity, the file names, and a
// final line cut short. If the restart index is readable, also that the log still reaches the
// record it names (catches records cut from the end) and that record's hash. Stops at the
// first broken record. An empty or missing directory is not ok.
VerifyReport verify_directory(const std::string& dir, const std::string& file_prefix = "audit");

}  // namespace wep_audit

#endif  // WEP_AUDIT_AUDIT_CHAIN_H_
