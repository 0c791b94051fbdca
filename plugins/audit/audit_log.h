// audit_log.h -- the audit plugin's writer: one log directory, one chain, crash recovery.
//
// Plugin-internal (the host only needs audit_chain.h). Thread-safety: none; the plugin calls it
// from one hook at a time, as the ABI guarantees without WEP_PLUGIN_THREAD_SAFE.
#ifndef WEP_AUDIT_AUDIT_LOG_H_
#define WEP_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit_chain.h"

namespace wep_audit {

class AuditLog {
 public:
  struct Options {
    std::string directory;
    std::string file_prefix = "audit";
    uint64_t max_file_bytes = uint64_t{64} << 20;
    bool fsync = true;  // fsync in Commit; false: only in Sync
  };
  // Receives notes for the operator: a WEP_LOG_* level and a text free of bearer material.
  using Logger = std::function<void(int32_t level, const std::string& text)>;

  // Creates the directory if needed, locks it against a second writer, cuts a torn final line
  // (crash during a write), and recovers the chain head and the per-partition high-water marks
  // from the index, rolling forward over the log after it (or over the whole log when the
  // index is missing or does not match). Returns nullptr with *error and *code (WEP_ERR_*).
  static std::unique_ptr<AuditLog> Open(const Options& options, Logger logger, std::string* error,
                                        int32_t* code);
  // Makes committed records durable and writes the index, best effort; unlocks.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // True when `offset` is at or below the highest offset recorded for (topic, partition).
  bool Recorded(std::string_view topic, int32_t partition, int64_t offset) const;

  // One batch: Begin; Append per record; then Commit (writes out; fsyncs when options.fsync),
  // or Abort after any failure (truncates/removes what the batch wrote, restores the head).
  void Begin();
  bool Append(const RecordFields& fields, std::string* error);
  bool Commit(std::string* error);
  void Abort();

  // Makes every committed record durable, then writes the index. On an fsync failure, rolls
  // back to the last durable point (those records are to be redelivered) and returns false.
  bool Sync(std::string* error);

  // Stops calling the logger (the host's log must not be used from destroy).
  void DetachLogger() { logger_ = nullptr; }

  uint64_t batch_bytes() const { return batch_bytes_; }
  const std::string& directory() const { return options_.directory; }

 private:
  // topic -> partition -> highest offset recorded.
  using HighWater = std::map<std::string, std::map<int32_t, int64_t>, std::less<>>;
  // Everything a rollback restores.
  struct Position {
    uint64_t seq = 0;
    std::string hash;
    size_t file_count = 0;
    uint64_t size = 0;  // of the last of those files
    HighWater high_water;
  };

  explicit AuditLog(const Options& options, Logger logger);
  void Note(int32_t level, const std::string& text) const;
  std::string Recover(int32_t* code);
  std::string RepairTail(LogFile* file, uint64_t* size);
  bool LoadIndex(Position* start, size_t* start_file, uint64_t* start_offset);
  std::string RollForward(size_t first_file, uint64_t offset, uint64_t* scanned);
  bool WritePending(std::string* error);
  bool StartFile(std::string* error);
  void WriteIndex();
  Position Snapshot() const;
  void Rollback(const Position& to);
  void NoteRecord(const std::string& topic, int32_t partition, int64_t offset);

  Options options_;
  Logger logger_;
  int lock_fd_ = -1;
  int fd_ = -1;                 // the last file, O_APPEND
  std::vector<LogFile> files_;  // in chain order
  uint64_t seq_ = 0;            // of the last record (0: none yet)
  std::string hash_;            // of the last record (kGenesisHash: none yet)
  uint64_t size_ = 0;           // of the last file, pending bytes included
  std::string pending_;         // appended, not yet written
  HighWater high_water_;
  Position begin_;            // Begin()'s rollback point
  Position durable_;          // the last point known to be on disk
  bool dirty_ = false;        // written since the last fsync
  uint64_t indexed_seq_ = 0;  // seq the index file names
  uint64_t batch_bytes_ = 0;
  bool opened_ = false;  // recovery finished: the state above describes the log
  std::string broken_;   // set when a rollback failed: every write is refused
};

}  // namespace wep_audit

#endif  // WEP_AUDIT_AUDIT_LOG_H_
