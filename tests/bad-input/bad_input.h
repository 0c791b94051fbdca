// The bad-input corpus (tests/bad-input/): the committed records listed in MANIFEST.tsv, and
// the records over consumer.max_record_bytes that are built at run time rather than committed.
// Header-only; used by the corpus check (tests/bad-input/corpus_test.cc) and by the
// integration test against the real broker (tests/integration/bad_input_test.cc).
#ifndef WALLET_EVENTD_TESTS_BAD_INPUT_BAD_INPUT_H_
#define WALLET_EVENTD_TESTS_BAD_INPUT_BAD_INPUT_H_

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace wep_bad_input {

struct BadRecord {
  std::string name;          // file name below tests/bad-input/, or "generated:<what>"
  std::string topic_suffix;  // e.g. "key.operations"
  std::string value;         // the raw bytes
  std::string error_code;    // expected dlq.error.code
  std::string error_part;    // expected substring of dlq.error
};

inline std::string read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The committed records of `dir`/MANIFEST.tsv, in manifest order.
inline std::vector<BadRecord> committed_records(const std::string& dir) {
  std::vector<BadRecord> out;
  std::ifstream in(dir + "/MANIFEST.tsv");
  if (!in) throw std::runtime_error("cannot read " + dir + "/MANIFEST.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
      cols.push_back(line.substr(start, tab - start));
    cols.push_back(line.substr(start));
    if (cols.size() != 4) throw std::runtime_error("MANIFEST.tsv: bad line: " + line);
    out.push_back({cols[0], cols[1], read_binary(dir + "/" + cols[0]), cols[2], cols[3]});
  }
  return out;
}

// Records over the default consumer.max_record_bytes (1 MiB), made here so that no megabyte
// files are committed. `golden_key_created` is tests/golden/wire/valid/KeyCreated.json.
inline std::vector<BadRecord> oversized_records(const std::string& golden_key_created) {
  constexpr size_t kLimit = 1048576;
  std::vector<BadRecord> out;
  // A well-formed KeyCreated whose key_attestation is 1.5 MB of base64url-looking text.
  {
    std::string padded = golden_key_created;
    const std::string field = "\"key_attestation\": \"";
    const size_t at = padded.find(field);
    if (at == std::string::npos) throw std::runtime_error("KeyCreated.json: no key_attestation");
    padded.insert(at + field.size(), std::string(1536 * 1024, 'A'));
    out.push_back({"generated:valid-event-1.5MB", "key.operations", padded, "too_large",
                   "record is " + std::to_string(padded.size()) + " bytes, the limit is 1048576"});
  }
  // One byte over the limit: a JSON object with a long string.
  {
    std::string v = "{\"event_type\":\"KeyCreated\",\"pad\":\"";
    v += std::string(kLimit + 1 - v.size() - 2, 'x');
    v += "\"}";
    out.push_back({"generated:one-byte-over", "credential.storage", v, "too_large",
                   "record is 1048577 bytes, the limit is 1048576"});
  }
  // 2 MiB nesting bomb: refused for its size before any parsing.
  out.push_back({"generated:bomb-2MiB", "presentation.requests",
                 std::string(1 << 20, '[') + std::string(1 << 20, ']'), "too_large",
                 "record is 2097152 bytes, the limit is 1048576"});
  return out;
}

}  // namespace wep_bad_input

#endif  // WALLET_EVENTD_TESTS_BAD_INPUT_BAD_INPUT_H_
