// ttl_map.h -- a string-keyed map whose entries expire after a fixed TTL, with a size bound.
//
// Every Put() gives the entry the same lifetime, so the insertion-ordered list is also
// ordered by expiry: expiring and evicting both pop from its front. Not thread-safe.
#ifndef WALLET_EVENTD_PLUGINS_NOTIFICATION_TTL_MAP_H_
#define WALLET_EVENTD_PLUGINS_NOTIFICATION_TTL_MAP_H_

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

namespace wep_notification {

template <typename V>
class TtlMap {
 public:
  TtlMap(uint64_t ttl_ns, size_t max_entries) : ttl_ns_(ttl_ns), max_entries_(max_entries) {}

  // Inserts or replaces `key`, restarting its lifetime at `now_ns`.
  void Put(const std::string& key, V value, uint64_t now_ns) {
    if (max_entries_ == 0) return;
    auto it = map_.find(key);
    if (it != map_.end()) {
      order_.erase(it->second.pos);
      map_.erase(it);
    }
    Expire(now_ns);
    while (map_.size() >= max_entries_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    map_.emplace(key, Entry{std::move(value), now_ns + ttl_ns_, std::prev(order_.end())});
  }

  // The live value for `key`, or nullptr. Valid until the next Put().
  const V* Get(const std::string& key, uint64_t now_ns) {
    Expire(now_ns);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }

  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    V value;
    uint64_t expires_ns;
    std::list<std::string>::iterator pos;
  };

  void Expire(uint64_t now_ns) {
    while (!order_.empty()) {
      auto it = map_.find(order_.front());
      if (it->second.expires_ns > now_ns) break;
      map_.erase(it);
      order_.pop_front();
    }
  }

  uint64_t ttl_ns_;
  size_t max_entries_;
  std::unordered_map<std::string, Entry> map_;
  std::list<std::string> order_;  // keys, oldest first
};

}  // namespace wep_notification

#endif  // WALLET_EVENTD_PLUGINS_NOTIFICATION_TTL_MAP_H_
