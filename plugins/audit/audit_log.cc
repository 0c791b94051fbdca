#include "audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "wallet_event_plugin.h"

namespace wep_audit {
namespace {

constexpr size_t kWriteChunk = size_t{1} << 20;  // write out pending bytes past this

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Writes all of `data` to `fd`; returns 0 or the errno.
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// Reads [begin, end) of `fd`; returns 0 or the errno.
int ReadRange(int fd, uint64_t begin, uint64_t end, std::string* out) {
  out->resize(end - begin);
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n =
        ::pread(fd, out->data() + done, out->size() - done, static_cast<off_t>(begin + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;  // the file shrank under us
    done += static_cast<size_t>(n);
  }
  return 0;
}

// Offset where the line holding byte `end - 1` starts: just past the previous '\n', or 0.
int FindLineStart(int fd, uint64_t end, uint64_t* start) {
  constexpr uint64_t kChunk = 64 * 1024;
  std::string buf;
  uint64_t pos = end;
  while (pos > 0) {
    uint64_t from = pos > kChunk ? pos - kChunk : 0;
    if (int err = ReadRange(fd, from, pos, &buf); err != 0) return err;
    size_t nl = buf.rfind('\n');
    if (nl != std::string::npos) {
      *start = from + nl + 1;
      return 0;
    }
    pos = from;
  }
  *start = 0;
  return 0;
}

int SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

}  // namespace

AuditLog::AuditLog(const Options& options, Logger logger)
    : options_(options), logger_(std::move(logger)), hash_(kGenesisHash) {}

AuditLog::~AuditLog() {
  std::string ignored;
  if (opened_ && broken_.empty()) Sync(&ignored);
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void AuditLog::Note(int32_t level, const std::string& text) const {
  if (logger_) logger_(level, text);
}

std::unique_ptr<AuditLog> AuditLog::Open(const Options& options, Logger logger, std::string* error,
                                         int32_t* code) {
  std::unique_ptr<AuditLog> log(new AuditLog(options, std::move(logger)));
  *error = log->Recover(code);
  if (!error->empty()) return nullptr;
  return log;
}

std::string AuditLog::Recover(int32_t* code) {
  const std::string& dir = options_.directory;
  *code = WEP_ERR_UNAVAILABLE;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create the audit directory " + dir + ": " + ec.message();

  const std::string lock_path = dir + "/" + options_.file_prefix + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) return "cannot open " + lock_path + ": " + ErrnoText(errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return "cannot lock " + lock_path + ": " + ErrnoText(errno);
    *code = WEP_ERR_CONFIG;
    return "the audit log " + dir + "/" + options_.file_prefix +
           "-*.jsonl is already being written by another instance or process (" + lock_path +
           " is locked); give each audit instance its own directory or file_prefix";
  }

  if (std::string err = list_log_files(dir, options_.file_prefix, &files_); !err.empty()) {
    return err;
  }
  // A crash can leave a torn final line, and a fresh file with nothing intact in it.
  while (!files_.empty()) {
    uint64_t size = 0;
    if (std::string err = RepairTail(&files_.back(), &size); !err.empty()) return err;
    if (size > 0) break;
    if (::unlink(files_.back().path.c_str()) != 0) {
      return "cannot remove the empty file " + files_.back().path + ": " + ErrnoText(errno);
    }
    Note(WEP_LOG_INFO, "removed the empty audit file " + files_.back().path);
    files_.pop_back();
  }

  Position start;
  start.hash = std::string(kGenesisHash);
  size_t start_file = 0;
  uint64_t start_offset = 0;
  const bool indexed = LoadIndex(&start, &start_file, &start_offset);
  seq_ = start.seq;
  hash_ = start.hash;
  high_water_ = std::move(start.high_water);
  indexed_seq_ = indexed ? seq_ : 0;
  uint64_t scanned = 0;
  if (std::string err = RollForward(start_file, start_offset, &scanned); !err.empty()) {
    *code = WEP_ERR_INTERNAL;
    return err;
  }

  if (!files_.empty()) {
    const std::string& path = files_.back().path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) return "cannot open " + path + ": " + ErrnoText(errno);
    struct stat st;
    if (::fstat(fd_, &st) != 0) return "cannot stat " + path + ": " + ErrnoText(errno);
    size_ = static_cast<uint64_t>(st.st_size);
    // What was recovered may not have reached the disk yet (a crash of the process, not of
    // the machine): make it durable before the index names it.
    if (::fdatasync(fd_) != 0) return "cannot fsync " + path + ": " + ErrnoText(errno);
  }
  durable_ = begin_ = Snapshot();
  opened_ = true;
  if (seq_ != indexed_seq_) WriteIndex();
  if (scanned > 0) {
    Note(WEP_LOG_INFO, "recovered " + std::to_string(scanned) + " records from the audit log in " +
                           dir + "; next seq " + std::to_string(seq_ + 1));
  }
  return "";
}

std::string AuditLog::RepairTail(LogFile* file, uint64_t* size_out) {
  int fd = ::open(file->path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "cannot open " + file->path + ": " + ErrnoText(errno);
  std::string error;
  auto cut = [&](uint64_t at, uint64_t size, const std::string& why) {
    std::string removed;
    std::string digest = ReadRange(fd, at, size, &removed) == 0 ? sha256_hex(removed) : "?";
    if (::ftruncate(fd, static_cast<off_t>(at)) != 0 || ::fsync(fd) != 0) {
      error = "cannot truncate " + file->path + ": " + ErrnoText(errno);
      return false;
    }
    Note(WEP_LOG_WARN, "audit file " + file->path + ": removed " + std::to_string(size - at) +
                           " bytes at offset " + std::to_string(at) + " (" + why +
                           ", sha256 of the removed bytes " + digest +
                           "); the chain continues from the last intact record");
    return true;
  };
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    error = "cannot stat " + file->path + ": " + ErrnoText(errno);
    ::close(fd);
    return error;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string last;
  uint64_t start = 0;
  int err = size > 0 ? ReadRange(fd, size - 1, size, &last) : 0;
  if (err == 0 && size > 0 && last != "\n") {
    err = FindLineStart(fd, size, &start);
    if (err == 0 && cut(start, size, "an incomplete final line: the process stopped mid-write")) {
      size = start;
    }
  }
  if (err == 0 && error.empty() && size > 0) {
    err = FindLineStart(fd, size - 1, &start);
    if (err == 0) err = ReadRange(fd, start, size - 1, &last);
    RecordInfo rec;
    std::string why;
    if (err == 0 && !(why = parse_record(last, &rec)).empty() &&
        cut(start, size, "an unreadable final line: " + why)) {
      size = start;
    }
  }
  if (err != 0) error = "cannot read " + file->path + ": " + ErrnoText(err);
  ::close(fd);
  *size_out = size;
  return error;
}

bool AuditLog::LoadIndex(Position* start, size_t* start_file, uint64_t* start_offset) {
  const std::string path = options_.directory + "/" + index_file_name(options_.file_prefix);
  std::ifstream in(path);
  if (!in) {
    if (!files_.empty()) Note(WEP_LOG_INFO, "no audit index " + path + "; reading the whole log");
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  IndexState index;
  std::string why = index_from_json(text.str(), &index);
  size_t i = 0;
  if (why.empty()) {
    while (i < files_.size() && files_[i].name != index.file) ++i;
    if (i == files_.size()) why = "it names " + index.file + ", which is not there";
  }
  if (why.empty()) {
    int fd = ::open(files_[i].path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    std::string line;
    uint64_t line_start = 0;
    RecordInfo rec;
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      why = "cannot read " + files_[i].path;
    } else if (index.size == 0 || index.size > static_cast<uint64_t>(st.st_size)) {
      why = "it names byte " + std::to_string(index.size) + " of " + index.file + ", which has " +
            std::to_string(st.st_size) + " bytes";
    } else if (FindLineStart(fd, index.size - 1, &line_start) != 0 ||
               ReadRange(fd, line_start, index.size, &line) != 0 || line.back() != '\n' ||
               !parse_record(std::string_view(line).substr(0, line.size() - 1), &rec).empty() ||
               rec.seq != index.seq || rec.hash != index.hash) {
      why = "the log does not hold record " + std::to_string(index.seq) + " where it says";
    }
    if (fd >= 0) ::close(fd);
  }
  if (!why.empty()) {
    Note(WEP_LOG_WARN, "ignoring the audit index " + path + " (" + why +
                           "); reading the whole log. If records were cut from the end of the "
                           "log, `wallet-eventd audit verify` reports it");
    return false;
  }
  start->seq = index.seq;
  start->hash = index.hash;
  for (const HighWaterMark& m : index.high_water) {
    start->high_water[m.topic][m.partition] = m.offset;
  }
  *start_file = i;
  *start_offset = index.size;
  return true;
}

std::string AuditLog::RollForward(size_t first_file, uint64_t offset, uint64_t* scanned) {
  for (size_t i = first_file; i < files_.size(); ++i) {
    const LogFile& file = files_[i];
    uint64_t line_start = i == first_file ? offset : 0;
    std::string error;
    std::string tail;
    std::string io_error = scan_lines(
        file.path, line_start,
        [&](std::string_view line, uint64_t end) {
          RecordInfo rec;
          error = parse_record(line, &rec, /*whole_line=*/false);
          if (error.empty()) error = check_link(seq_, hash_, rec);
          if (error.empty() && line_start == 0 && rec.seq != file.first_seq) {
            error = std::string(kErrFileName);
          }
          if (!error.empty()) return false;
          seq_ = rec.seq;
          hash_ = std::move(rec.hash);
          NoteRecord(rec.topic, rec.partition, rec.offset);
          ++*scanned;
          line_start = end;
          return true;
        },
        &tail);
    if (!io_error.empty()) return io_error;
    if (error.empty() && !tail.empty()) error = std::string(kErrTruncated);
    if (!error.empty()) {
      return "the audit log is damaged: " + file.path + " at byte " + std::to_string(line_start) +
             ": " + error +
             ". Refusing to extend a broken chain; run `wallet-eventd audit verify " +
             options_.directory + "` and move the damaged files aside";
    }
  }
  return "";
}

void AuditLog::NoteRecord(const std::string& topic, int32_t partition, int64_t offset) {
  auto topic_it = high_water_.find(topic);
  if (topic_it == high_water_.end()) topic_it = high_water_.try_emplace(topic).first;
  auto [it, inserted] = topic_it->second.try_emplace(partition, offset);
  if (!inserted) it->second = std::max(it->second, offset);
}

bool AuditLog::Recorded(std::string_view topic, int32_t partition, int64_t offset) const {
  auto topic_it = high_water_.find(topic);
  if (topic_it == high_water_.end()) return false;
  auto it = topic_it->second.find(partition);
  return it != topic_it->second.end() && offset <= it->second;
}

AuditLog::Position AuditLog::Snapshot() const {
  return Position{seq_, hash_, files_.size(), size_, high_water_};
}

void AuditLog::Begin() {
  begin_ = Snapshot();
  batch_bytes_ = 0;
}

bool AuditLog::WritePending(std::string* error) {
  if (pending_.empty()) return true;
  if (int err = WriteAll(fd_, pending_); err != 0) {
    *error = "cannot write " + files_.back().path + ": " + ErrnoText(err);
    return false;
  }
  pending_.clear();
  dirty_ = true;
  return true;
}

bool AuditLog::StartFile(std::string* error) {
  if (fd_ >= 0) {
    // The old file's end must reach the disk before the new file's records can.
    if (!WritePending(error)) return false;
    if (::fdatasync(fd_) != 0) {
      *error = "cannot fsync " + files_.back().path + ": " + ErrnoText(errno);
      return false;
    }
    ::close(fd_);
    fd_ = -1;
  }
  const std::string name = log_file_name(options_.file_prefix, seq_ + 1);
  LogFile file{name, options_.directory + "/" + name, seq_ + 1};
  fd_ = ::open(file.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    *error = "cannot create " + file.path + ": " + ErrnoText(errno);
    return false;
  }
  files_.push_back(std::move(file));
  size_ = 0;
  if (int err = SyncDirectory(options_.directory); err != 0) {
    *error = "cannot fsync the directory " + options_.directory + ": " + ErrnoText(err);
    return false;
  }
  return true;
}

bool AuditLog::Append(const RecordFields& fields, std::string* error) {
  if (!broken_.empty()) {
    *error = broken_;
    return false;
  }
  std::string hash;
  std::string line = seal_record(seq_ + 1, hash_, fields, &hash);
  if (fd_ < 0 || (size_ > 0 && size_ + line.size() > options_.max_file_bytes)) {
    if (!StartFile(error)) return false;
  }
  pending_ += line;
  size_ += line.size();
  batch_bytes_ += line.size();
  ++seq_;
  hash_ = std::move(hash);
  NoteRecord(std::string(fields.topic), fields.partition, fields.offset);
  return pending_.size() < kWriteChunk || WritePending(error);
}

bool AuditLog::Commit(std::string* error) {
  if (!broken_.empty()) {
    *error = broken_;
    return false;
  }
  if (!WritePending(error)) return false;
  if (options_.fsync && dirty_) {
    if (::fdatasync(fd_) != 0) {
      *error = "cannot fsync " + files_.back().path + ": " + ErrnoText(errno);
      return false;
    }
    dirty_ = false;
    durable_ = Snapshot();
  }
  return true;
}

void AuditLog::Abort() { Rollback(begin_); }

bool AuditLog::Sync(std::string* error) {
  if (!broken_.empty()) {
    *error = broken_;
    return false;
  }
  if (dirty_ && fd_ >= 0) {
    if (::fdatasync(fd_) != 0) {
      *error = "cannot fsync " + files_.back().path + ": " + ErrnoText(errno) +
               "; rolled back to seq " + std::to_string(durable_.seq) +
               ", later events are to be redelivered";
      Rollback(durable_);
      return false;
    }
    dirty_ = false;
    durable_ = Snapshot();
  }
  if (seq_ != indexed_seq_) WriteIndex();
  return true;
}

void AuditLog::Rollback(const Position& to) {
  std::string error;
  auto fail = [&](const std::string& what, const std::string& path) {
    if (error.empty()) error = what + " " + path + ": " + ErrnoText(errno);
  };
  pending_.clear();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  while (files_.size() > to.file_count) {
    if (::unlink(files_.back().path.c_str()) != 0 && errno != ENOENT) {
      fail("cannot remove", files_.back().path);
    }
    files_.pop_back();
  }
  if (!files_.empty()) {
    const std::string& path = files_.back().path;
    if (::truncate(path.c_str(), static_cast<off_t>(to.size)) != 0) fail("cannot truncate", path);
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) fail("cannot open", path);
  }
  seq_ = to.seq;
  hash_ = to.hash;
  size_ = to.size;
  high_water_ = to.high_water;
  dirty_ = fd_ >= 0;  // the truncation is not on disk yet
  if (!error.empty()) {
    broken_ = "the audit log could not be rolled back after a failed write (" + error +
              "); restart the audit instance";
    Note(WEP_LOG_ERROR, broken_);
  }
}

void AuditLog::WriteIndex() {
  if (files_.empty()) return;
  IndexState index{files_.back().name, size_, seq_, hash_, {}};
  for (const auto& [topic, partitions] : high_water_) {
    for (const auto& [partition, offset] : partitions) {
      index.high_water.push_back({topic, partition, offset});
    }
  }
  // Not fsynced: a lost or stale index only costs a longer scan at the next start.
  const std::string path = options_.directory + "/" + index_file_name(options_.file_prefix);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  int err = fd < 0 ? errno : WriteAll(fd, index_to_json(index));
  if (fd >= 0) ::close(fd);
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    Note(WEP_LOG_WARN, "cannot write the audit index " + path + ": " + ErrnoText(err) +
                           " (the next start reads the whole log)");
    return;
  }
  indexed_seq_ = seq_;
}

}  // namespace wep_audit
