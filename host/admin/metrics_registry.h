// The daemon's Prometheus metrics: families of counters, gauges and histograms, one series
// per label-value tuple, rendered in the text exposition format 0.0.4 for GET /metrics.
//
// It backs both host code (dispatcher, consumer) and plugins (wep_host_api.metric_register /
// metric_record, through the plugin loader, which adds the `instance` label).
//
// Thread-safety: everything may be called from any thread. Registration and the first use of
// a label-value tuple take an exclusive lock; recording into an existing series takes a
// shared lock and a map lookup, and recording through a cached Counter* / Gauge* /
// Histogram* takes no lock at all (relaxed atomics).
//
// Lifetime: families and series live as long as the registry. Pointers returned by
// register_family() and by Family::counter()/gauge()/histogram() stay valid until the
// registry is destroyed, even after remove_series() (a removed series stops being rendered;
// writes to a stale pointer are harmless and invisible).
#ifndef WALLET_EVENTD_ADMIN_METRICS_REGISTRY_H_
#define WALLET_EVENTD_ADMIN_METRICS_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wallet_eventd::admin {

enum class MetricKind { kCounter, kGauge, kHistogram };

// "counter", "gauge", "histogram" (as on the # TYPE line).
std::string_view metric_kind_name(MetricKind kind);

// Prometheus' default latency buckets in seconds: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
const std::vector<double>& default_buckets();
// `count` bounds: start, start*factor, ... (start > 0, factor > 1).
std::vector<double> exponential_buckets(double start, double factor, size_t count);
// `count` bounds: start, start+width, ... (width > 0).
std::vector<double> linear_buckets(double start, double width, size_t count);

// A read-only view of label values, in the order of the family's label names. Built
// implicitly from a braced list ({"audit", "done"}), a std::vector / std::span of
// std::string_view, or a std::vector<std::string>. Does not own the strings: use it within
// the call it is passed to.
class LabelValues {
 public:
  LabelValues() = default;
  LabelValues(std::initializer_list<std::string_view> values)
      : list_(values), size_(values.size()) {}
  LabelValues(std::span<const std::string_view> values)
      : views_(values.data()), size_(values.size()) {}
  LabelValues(const std::vector<std::string_view>& values)
      : views_(values.data()), size_(values.size()) {}
  LabelValues(const std::vector<std::string>& values)
      : strings_(values.data()), size_(values.size()) {}

  size_t size() const { return size_; }
  std::string_view operator[](size_t i) const {
    if (views_ != nullptr) return views_[i];
    if (strings_ != nullptr) return strings_[i];
    return list_.begin()[i];
  }

 private:
  std::initializer_list<std::string_view> list_;  // when built from a braced list
  const std::string_view* views_ = nullptr;
  const std::string* strings_ = nullptr;
  size_t size_ = 0;
};

namespace detail {
// Base of the three series types; the family knows which one it holds.
class Series {
 public:
  virtual ~Series() = default;
};
}  // namespace detail

// One counter series. Only goes up.
class Counter final : public detail::Series {
 public:
  // Adds v; ignores negative and NaN values (returns false).
  bool inc(double v = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// One gauge series.
class Gauge final : public detail::Series {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double v = 1.0) { value_.fetch_add(v, std::memory_order_relaxed); }
  void dec(double v = 1.0) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// One histogram series with fixed upper bounds (the family's buckets) plus +Inf.
class Histogram final : public detail::Series {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  // Counts v in the first bucket whose bound is >= v (NaN counts in +Inf) and adds it to sum.
  void observe(double v);
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Cumulative counts, one per bound plus the final +Inf bucket (== count()).
  std::vector<uint64_t> cumulative_counts() const;

 private:
  const std::vector<double>* bounds_;                 // the family's; outlives the series
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0.0};
};

// A metric family: one name, help, kind and label names; a series per label-value tuple.
class Family {
 public:
  Family(MetricKind kind, std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> buckets);
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  MetricKind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Upper bounds (without +Inf); empty unless kind() is kHistogram.
  const std::vector<double>& buckets() const { return buckets_; }

  // The series for these label values, created at zero on first use; cache the pointer on
  // hot paths. nullptr when the family is of another kind or the number of values differs
  // from label_names().size().
  Counter* counter(LabelValues values);
  Gauge* gauge(LabelValues values);
  Histogram* histogram(LabelValues values);

  // By kind: counter adds v (v >= 0), gauge sets v, histogram observes v. Returns false, and
  // records nothing, on a wrong number of label values or a negative/NaN counter increment.
  bool record(LabelValues values, double v);
  // Explicit forms; false when the family is of another kind (or as record()).
  bool inc(LabelValues values, double v = 1.0);  // counter or gauge
  bool set(LabelValues values, double v);        // gauge
  bool observe(LabelValues values, double v);    // histogram

  // The current value of a counter/gauge series, or of a histogram's count; 0 when the series
  // does not exist. Does not create it.
  double value(LabelValues values) const;
  size_t series_count() const;

  // Stops rendering every series whose label `label_name` equals `label_value` (e.g. the
  // `instance` label of a removed handler instance). Returns how many were removed.
  size_t remove_series(std::string_view label_name, std::string_view label_value);

  // Appends this family's HELP/TYPE lines and samples; nothing when it has no series.
  void render(std::string* out) const;

 private:
  struct KeyLess {
    using is_transparent = void;
    bool operator()(const std::vector<std::string>& a, const std::vector<std::string>& b) const;
    bool operator()(const std::vector<std::string>& a, const LabelValues& b) const;
    bool operator()(const LabelValues& a, const std::vector<std::string>& b) const;
  };
  friend class MetricsRegistry;  // creates the one series of a label-less family
  detail::Series* find_or_create(const LabelValues& values);

  const MetricKind kind_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;

  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<detail::Series>, KeyLess> series_;
  std::vector<std::unique_ptr<detail::Series>> retired_;  // removed, kept for stale pointers
};

class MetricsRegistry {
 public:
  // Called by render() before anything is read, e.g. to set a consumer-lag gauge. Runs on the
  // scraping thread; must not call add_collector/remove_collector.
  using Collector = std::function<void()>;
  using CollectorId = uint64_t;

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the existing one when `name` is already registered with
  // the same kind, label names (same order) and, for histograms, buckets; `help` of the first
  // registration is kept. Returns nullptr and sets *error (when given) for an invalid name,
  // label name or bucket list, or a conflicting re-registration.
  // `buckets`: histograms only (ignored otherwise); ascending finite upper bounds, a trailing
  // +Inf is dropped; empty means default_buckets().
  Family* register_family(MetricKind kind, std::string name, std::string help,
                          std::vector<std::string> label_names, std::vector<double> buckets = {},
                          std::string* error = nullptr);

  // Shorthands for host code, whose metric names are fixed: same as register_family() but
  // throw std::invalid_argument on a conflict or invalid name (a bug, not an operator error).
  Family& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family& histogram(std::string name, std::string help, std::vector<std::string> label_names = {},
                    std::vector<double> buckets = {});

  // Family::record() for a handle returned by register_family(); false for a null family.
  static bool record(Family* family, LabelValues values, double v);

  // The family registered under `name`, or nullptr.
  Family* find(std::string_view name) const;

  // remove_series() on every family; returns the number of series removed.
  size_t remove_series(std::string_view label_name, std::string_view label_value);

  CollectorId add_collector(Collector collector);
  // After it returns, the collector is not running and will not run again.
  void remove_collector(CollectorId id);

  // Runs the collectors, then renders every family with at least one series, sorted by name,
  // in the Prometheus text format 0.0.4.
  std::string render() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;

  mutable std::mutex collectors_mu_;
  std::map<CollectorId, Collector> collectors_;
  CollectorId next_collector_id_ = 1;
};

}  // namespace wallet_eventd::admin

#endif  // WALLET_EVENTD_ADMIN_METRICS_REGISTRY_H_
