#include "admin/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace wallet_eventd::admin {
namespace {

bool is_name_start(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}
bool is_name_char(char c, bool allow_colon) {
  return is_name_start(c, allow_colon) || (c >= '0' && c <= '9');
}
// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, [a-zA-Z_][a-zA-Z0-9_]* for label names.
bool valid_name(std::string_view s, bool allow_colon) {
  if (s.empty() || !is_name_start(s[0], allow_colon)) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return is_name_char(c, allow_colon); });
}

// Prometheus float formatting: integers without a fraction, otherwise the shortest text that
// round-trips; +Inf, -Inf, NaN.
void append_double(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[64];
  std::to_chars_result r;
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0) {  // 2^53
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
  } else {
    r = std::to_chars(buf, buf + sizeof buf, v);
  }
  out->append(buf, r.ptr);
}

void append_uint(std::string* out, uint64_t v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// HELP text: backslash and newline escaped.
void append_help(std::string* out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// Label values: backslash, double quote and newline escaped.
void append_label_value(std::string* out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

// `{a="x",b="y"` plus an optional extra label (le), then `}`; nothing for no labels.
void append_labels(std::string* out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(names[i]);
    out->append("=\"");
    append_label_value(out, values[i]);
    out->push_back('"');
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    out->append(extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

std::string join_labels(const std::vector<std::string>& labels) {
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) s += ',';
    s += labels[i];
  }
  return s + "}";
}

// The sample names a family renders besides its own name.
std::vector<std::string> derived_names(MetricKind kind, const std::string& name) {
  if (kind != MetricKind::kHistogram) return {};
  return {name + "_bucket", name + "_sum", name + "_count"};
}

template <typename A, typename B>
bool less_labels(const A& a, size_t na, const B& b, size_t nb) {
  size_t n = std::min(na, nb);
  for (size_t i = 0; i < n; ++i) {
    std::string_view x(a[i]), y(b[i]);
    if (x != y) return x < y;
  }
  return na < nb;
}

}  // namespace

std::string_view metric_kind_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::kCounter:
      return "counter";
    case MetricKind::kGauge:
      return "gauge";
    case MetricKind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

const std::vector<double>& default_buckets() {
  static const std::vector<double> buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1.0,  2.5,   5.0,  10.0};
  return buckets;
}

std::vector<double> exponential_buckets(double start, double factor, size_t count) {
  std::vector<double> out;
  if (!(start > 0) || !(factor > 1)) return out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i, start *= factor) out.push_back(start);
  return out;
}

std::vector<double> linear_buckets(double start, double width, size_t count) {
  std::vector<double> out;
  if (!(width > 0)) return out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(start + width * static_cast<double>(i));
  return out;
}

// ---- series ----------------------------------------------------------------------------------

bool Counter::inc(double v) {
  if (!(v >= 0)) return false;  // negative or NaN
  value_.fetch_add(v, std::memory_order_relaxed);
  return true;
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  size_t i = std::isnan(v)
                 ? bounds_->size()
                 : static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), v) -
                                       bounds_->begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    n += buckets_[i].load(std::memory_order_relaxed);
    out[i] = n;
  }
  return out;
}

// ---- Family ----------------------------------------------------------------------------------

Family::Family(MetricKind kind, std::string name, std::string help, std::vector<std::string> labels,
               std::vector<double> buckets)
    : kind_(kind),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(labels)),
      buckets_(std::move(buckets)) {}

bool Family::KeyLess::operator()(const std::vector<std::string>& a,
                                 const std::vector<std::string>& b) const {
  return a < b;
}
bool Family::KeyLess::operator()(const std::vector<std::string>& a, const LabelValues& b) const {
  return less_labels(a, a.size(), b, b.size());
}
bool Family::KeyLess::operator()(const LabelValues& a, const std::vector<std::string>& b) const {
  return less_labels(a, a.size(), b, b.size());
}

detail::Series* Family::find_or_create(const LabelValues& values) {
  if (values.size() != label_names_.size()) return nullptr;
  {
    std::shared_lock lock(mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return it->second.get();
  }
  std::vector<std::string> key;
  key.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) key.emplace_back(values[i]);
  std::unique_ptr<detail::Series> series;
  switch (kind_) {
    case MetricKind::kCounter:
      series = std::make_unique<Counter>();
      break;
    case MetricKind::kGauge:
      series = std::make_unique<Gauge>();
      break;
    case MetricKind::kHistogram:
      series = std::make_unique<Histogram>(&buckets_);
      break;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = series_.try_emplace(std::move(key), std::move(series));
  (void)inserted;  // another thread may have created it meanwhile: use that one
  return it->second.get();
}

Counter* Family::counter(LabelValues values) {
  if (kind_ != MetricKind::kCounter) return nullptr;
  return static_cast<Counter*>(find_or_create(values));
}

Gauge* Family::gauge(LabelValues values) {
  if (kind_ != MetricKind::kGauge) return nullptr;
  return static_cast<Gauge*>(find_or_create(values));
}

Histogram* Family::histogram(LabelValues values) {
  if (kind_ != MetricKind::kHistogram) return nullptr;
  return static_cast<Histogram*>(find_or_create(values));
}

bool Family::record(LabelValues values, double v) {
  switch (kind_) {
    case MetricKind::kCounter:
      return inc(values, v);
    case MetricKind::kGauge:
      return set(values, v);
    case MetricKind::kHistogram:
      return observe(values, v);
  }
  return false;
}

bool Family::inc(LabelValues values, double v) {
  if (kind_ == MetricKind::kCounter) {
    if (!(v >= 0)) return false;  // checked before creating the series
    Counter* c = counter(values);
    return c != nullptr && c->inc(v);
  }
  if (kind_ == MetricKind::kGauge) {
    Gauge* g = gauge(values);
    if (g == nullptr) return false;
    g->inc(v);
    return true;
  }
  return false;
}

bool Family::set(LabelValues values, double v) {
  Gauge* g = gauge(values);
  if (g == nullptr) return false;
  g->set(v);
  return true;
}

bool Family::observe(LabelValues values, double v) {
  Histogram* h = histogram(values);
  if (h == nullptr) return false;
  h->observe(v);
  return true;
}

double Family::value(LabelValues values) const {
  std::shared_lock lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) return 0.0;
  switch (kind_) {
    case MetricKind::kCounter:
      return static_cast<const Counter*>(it->second.get())->value();
    case MetricKind::kGauge:
      return static_cast<const Gauge*>(it->second.get())->value();
    case MetricKind::kHistogram:
      return static_cast<double>(static_cast<const Histogram*>(it->second.get())->count());
  }
  return 0.0;
}

size_t Family::series_count() const {
  std::shared_lock lock(mu_);
  return series_.size();
}

size_t Family::remove_series(std::string_view label_name, std::string_view label_value) {
  auto pos = std::find(label_names_.begin(), label_names_.end(), label_name);
  if (pos == label_names_.end()) return 0;
  size_t index = static_cast<size_t>(pos - label_names_.begin());
  std::unique_lock lock(mu_);
  size_t removed = 0;
  for (auto it = series_.begin(); it != series_.end();) {
    if (it->first[index] == label_value) {
      retired_.push_back(std::move(it->second));
      it = series_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

void Family::render(std::string* out) const {
  std::shared_lock lock(mu_);
  if (series_.empty()) return;
  out->append("# HELP ");
  out->append(name_);
  out->push_back(' ');
  append_help(out, help_);
  out->append("\n# TYPE ");
  out->append(name_);
  out->push_back(' ');
  out->append(metric_kind_name(kind_));
  out->push_back('\n');

  std::vector<std::string> bounds;  // formatted le values
  if (kind_ == MetricKind::kHistogram) {
    for (double b : buckets_) {
      std::string s;
      append_double(&s, b);
      bounds.push_back(std::move(s));
    }
    bounds.emplace_back("+Inf");
  }

  for (const auto& [values, series] : series_) {
    if (kind_ == MetricKind::kHistogram) {
      const auto* h = static_cast<const Histogram*>(series.get());
      std::vector<uint64_t> counts = h->cumulative_counts();
      for (size_t i = 0; i < counts.size(); ++i) {
        out->append(name_);
        out->append("_bucket");
        append_labels(out, label_names_, values, "le", bounds[i]);
        out->push_back(' ');
        append_uint(out, counts[i]);
        out->push_back('\n');
      }
      out->append(name_);
      out->append("_sum");
      append_labels(out, label_names_, values);
      out->push_back(' ');
      append_double(out, h->sum());
      out->push_back('\n');
      out->append(name_);
      out->append("_count");
      append_labels(out, label_names_, values);
      out->push_back(' ');
      append_uint(out, counts.back());  // == the +Inf bucket, always consistent
      out->push_back('\n');
    } else {
      out->append(name_);
      append_labels(out, label_names_, values);
      out->push_back(' ');
      append_double(out, kind_ == MetricKind::kCounter
                             ? static_cast<const Counter*>(series.get())->value()
                             : static_cast<const Gauge*>(series.get())->value());
      out->push_back('\n');
    }
  }
}

// ---- MetricsRegistry -------------------------------------------------------------------------

Family* MetricsRegistry::register_family(MetricKind kind, std::string name, std::string help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> buckets, std::string* error) {
  auto fail = [&](std::string message) -> Family* {
    if (error != nullptr) *error = std::move(message);
    return nullptr;
  };
  if (!valid_name(name, /*allow_colon=*/true)) {
    return fail("invalid metric name \"" + name + "\" (want [a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& l = label_names[i];
    if (!valid_name(l, /*allow_colon=*/false)) {
      return fail("metric " + name + ": invalid label name \"" + l +
                  "\" (want [a-zA-Z_][a-zA-Z0-9_]*)");
    }
    if (l.starts_with("__")) {
      return fail("metric " + name + ": label name \"" + l + "\" is reserved (starts with __)");
    }
    if (kind == MetricKind::kHistogram && l == "le") {
      return fail("metric " + name + ": label name \"le\" is reserved for histogram buckets");
    }
    if (std::find(label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i), l) !=
        label_names.begin() + static_cast<std::ptrdiff_t>(i)) {
      return fail("metric " + name + ": duplicate label name \"" + l + "\"");
    }
  }
  if (kind != MetricKind::kHistogram) {
    buckets.clear();
  } else {
    if (!buckets.empty() && std::isinf(buckets.back()) && buckets.back() > 0) buckets.pop_back();
    if (buckets.empty()) buckets = default_buckets();
    for (size_t i = 0; i < buckets.size(); ++i) {
      if (!std::isfinite(buckets[i])) {
        return fail("metric " + name + ": histogram buckets must be finite numbers");
      }
      if (i > 0 && !(buckets[i] > buckets[i - 1])) {
        return fail("metric " + name + ": histogram buckets must be strictly ascending");
      }
    }
  }

  std::unique_lock lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    Family& f = *it->second;
    if (f.kind() == kind && f.label_names() == label_names && f.buckets() == buckets) {
      return &f;
    }
    std::string what = "metric " + name + " is already registered as " +
                       std::string(metric_kind_name(f.kind())) + " with labels " +
                       join_labels(f.label_names());
    if (f.kind() == kind && f.label_names() == label_names) what += " and other buckets";
    return fail(what + "; cannot register it as " + std::string(metric_kind_name(kind)) +
                " with labels " + join_labels(label_names));
  }
  // The sample names of a histogram (x_bucket, x_sum, x_count) must not clash with another
  // family's name, in either direction.
  for (const std::string& derived : derived_names(kind, name)) {
    if (families_.count(derived) != 0) {
      return fail("metric " + name + " would render " + derived +
                  ", which is already registered as a metric of its own");
    }
  }
  for (const auto& [other_name, other] : families_) {
    for (const std::string& derived : derived_names(other->kind(), other_name)) {
      if (derived == name) {
        return fail("metric name " + name + " is taken by the samples of histogram " + other_name);
      }
    }
  }

  auto family = std::make_unique<Family>(kind, name, std::move(help), std::move(label_names),
                                         std::move(buckets));
  Family* out = family.get();
  families_.emplace(std::move(name), std::move(family));
  lock.unlock();
  // A family without labels has exactly one series: show it (at zero) from the start.
  if (out->label_names().empty()) out->find_or_create(LabelValues{});
  return out;
}

Family& MetricsRegistry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  std::string error;
  Family* f = register_family(MetricKind::kCounter, std::move(name), std::move(help),
                              std::move(label_names), {}, &error);
  if (f == nullptr) throw std::invalid_argument(error);
  return *f;
}

Family& MetricsRegistry::gauge(std::string name, std::string help,
                               std::vector<std::string> label_names) {
  std::string error;
  Family* f = register_family(MetricKind::kGauge, std::move(name), std::move(help),
                              std::move(label_names), {}, &error);
  if (f == nullptr) throw std::invalid_argument(error);
  return *f;
}

Family& MetricsRegistry::histogram(std::string name, std::string help,
                                   std::vector<std::string> label_names,
                                   std::vector<double> buckets) {
  std::string error;
  Family* f = register_family(MetricKind::kHistogram, std::move(name), std::move(help),
                              std::move(label_names), std::move(buckets), &error);
  if (f == nullptr) throw std::invalid_argument(error);
  return *f;
}

bool MetricsRegistry::record(Family* family, LabelValues values, double v) {
  return family != nullptr && family->record(values, v);
}

Family* MetricsRegistry::find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = families_.find(name);
  return it == families_.end() ? nullptr : it->second.get();
}

size_t MetricsRegistry::remove_series(std::string_view label_name, std::string_view label_value) {
  std::shared_lock lock(mu_);
  size_t removed = 0;
  for (auto& [name, family] : families_) removed += family->remove_series(label_name, label_value);
  return removed;
}

MetricsRegistry::CollectorId MetricsRegistry::add_collector(Collector collector) {
  std::lock_guard lock(collectors_mu_);
  CollectorId id = next_collector_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::remove_collector(CollectorId id) {
  std::lock_guard lock(collectors_mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::render() const {
  {
    std::lock_guard lock(collectors_mu_);
    for (const auto& [id, collector] : collectors_) {
      try {
        collector();
      } catch (...) {
        // A failing collector leaves its gauges as they were; the scrape still succeeds.
      }
    }
  }
  std::string out;
  std::shared_lock lock(mu_);
  for (const auto& [name, family] : families_) family->render(&out);
  return out;
}

}  // namespace wallet_eventd::admin
