// BoundedTable: a string-keyed map whose entries die at an event time and can be evicted least
// recently touched first. Several tables share one entry budget (the Detector enforces it
// across them); a table offers the parts: find, insert, touch, erase, its oldest entry, and a
// sweep of expired entries from the old end.
//
// Thread-safety: none; the owner locks.
#ifndef WEP_SECURITY_BOUNDED_TABLE_H_
#define WEP_SECURITY_BOUNDED_TABLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wep_security {

template <class V>
class BoundedTable {
 public:
  class Entry {
   public:
    const std::string& key() const { return *key_; }

    V value;
    int64_t expires_ns;  // event time after which the entry is dead
    uint64_t touch_seq;  // owner's counter at the last touch: lower = touched longer ago
    uint32_t stream;     // index of the topic-partition whose event time judges expiry

   private:
    friend class BoundedTable;
    Entry(V v, int64_t expires, uint64_t seq, uint32_t s)
        : value(std::move(v)), expires_ns(expires), touch_seq(seq), stream(s) {}
    const std::string* key_ = nullptr;  // the map's key of this entry
    Entry* newer_ = nullptr;            // recency list, intrusive: no second allocation
    Entry* older_ = nullptr;
  };

  BoundedTable() = default;
  BoundedTable(const BoundedTable&) = delete;
  BoundedTable& operator=(const BoundedTable&) = delete;

  // The live entry for `key`, or nullptr. An entry whose expires_ns is before `now_ns` (event
  // time of the event asking) is erased and reported absent.
  Entry* Find(std::string_view key, int64_t now_ns) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.expires_ns < now_ns) {
      Unlink(&it->second);
      map_.erase(it);
      ++expired_;
      return nullptr;
    }
    return &it->second;
  }

  // Inserts a new entry as the most recently touched one. `key` must not be present.
  Entry& Insert(std::string key, V value, int64_t expires_ns, uint64_t seq, uint32_t stream) {
    auto [it, inserted] =
        map_.try_emplace(std::move(key), Entry(std::move(value), expires_ns, seq, stream));
    Entry& entry = it->second;
    entry.key_ = &it->first;
    PushNewest(&entry);
    return entry;
  }

  // Marks `entry` (from Find/Insert) as the most recently touched one.
  void Touch(Entry* entry, uint64_t seq, uint32_t stream) {
    Unlink(entry);
    PushNewest(entry);
    entry->touch_seq = seq;
    entry->stream = stream;
  }

  void Erase(Entry* entry) {
    Unlink(entry);
    map_.erase(map_.find(*entry->key_));  // find first: the key lives in the erased node
  }

  // The least recently touched entry, or nullptr when empty.
  const Entry* Oldest() const { return oldest_; }
  void EraseOldest() {
    if (oldest_ != nullptr) Erase(oldest_);
  }

  // Erases entries from the least recently touched end while they have expired by the event
  // time their stream has reached (`watermarks[stream]`); stops at the first live one, so an
  // expired entry behind a live one waits for its turn (or for eviction). Returns how many.
  size_t SweepExpired(const std::vector<int64_t>& watermarks) {
    size_t n = 0;
    while (oldest_ != nullptr && oldest_->stream < watermarks.size() &&
           oldest_->expires_ns < watermarks[oldest_->stream]) {
      Erase(oldest_);
      ++n;
    }
    expired_ += n;
    return n;
  }

  size_t size() const { return map_.size(); }
  // Entries found expired (by Find or SweepExpired) since the last call.
  uint64_t TakeExpiredCount() { return std::exchange(expired_, 0); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  void PushNewest(Entry* e) {
    e->older_ = newest_;
    e->newer_ = nullptr;
    if (newest_ != nullptr) newest_->newer_ = e;
    newest_ = e;
    if (oldest_ == nullptr) oldest_ = e;
  }
  void Unlink(Entry* e) {
    (e->newer_ != nullptr ? e->newer_->older_ : newest_) = e->older_;
    (e->older_ != nullptr ? e->older_->newer_ : oldest_) = e->newer_;
    e->newer_ = e->older_ = nullptr;
  }

  // Mapped values never move (node-based map), so the recency list can point into it.
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map_;
  Entry* newest_ = nullptr;
  Entry* oldest_ = nullptr;
  uint64_t expired_ = 0;
};

}  // namespace wep_security

#endif  // WEP_SECURITY_BOUNDED_TABLE_H_
