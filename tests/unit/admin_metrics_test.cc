#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "admin/metrics_registry.h"

namespace wallet_eventd::admin {
namespace {

TEST(MetricsRegistry, RendersExactTextSortedByName) {
  MetricsRegistry r;
  Family& lat =
      r.histogram("wallet_eventd_batch_seconds", "Batch handling time.", {"instance"}, {0.1, 1});
  Family& handled =
      r.counter("wallet_eventd_events_total", "Events handled.", {"instance", "result"});
  Family& lag = r.gauge("wallet_eventd_consumer_lag", "Records behind.");

  EXPECT_TRUE(handled.inc({"audit", "done"}, 3));
  EXPECT_TRUE(handled.inc({"audit", "dead_lettered"}));
  EXPECT_TRUE(lat.observe({"audit"}, 0.0625));
  EXPECT_TRUE(lat.observe({"audit"}, 0.5));
  EXPECT_TRUE(lat.observe({"audit"}, 2));
  lag.gauge({})->set(1.5);

  EXPECT_EQ(r.render(),
            "# HELP wallet_eventd_batch_seconds Batch handling time.\n"
            "# TYPE wallet_eventd_batch_seconds histogram\n"
            "wallet_eventd_batch_seconds_bucket{instance=\"audit\",le=\"0.1\"} 1\n"
            "wallet_eventd_batch_seconds_bucket{instance=\"audit\",le=\"1\"} 2\n"
            "wallet_eventd_batch_seconds_bucket{instance=\"audit\",le=\"+Inf\"} 3\n"
            "wallet_eventd_batch_seconds_sum{instance=\"audit\"} 2.5625\n"
            "wallet_eventd_batch_seconds_count{instance=\"audit\"} 3\n"
            "# HELP wallet_eventd_consumer_lag Records behind.\n"
            "# TYPE wallet_eventd_consumer_lag gauge\n"
            "wallet_eventd_consumer_lag 1.5\n"
            "# HELP wallet_eventd_events_total Events handled.\n"
            "# TYPE wallet_eventd_events_total counter\n"
            "wallet_eventd_events_total{instance=\"audit\",result=\"dead_lettered\"} 1\n"
            "wallet_eventd_events_total{instance=\"audit\",result=\"done\"} 3\n");
}

TEST(MetricsRegistry, LabelLessFamilyShowsZeroAndLabelledEmptyFamilyIsHidden) {
  MetricsRegistry r;
  r.counter("a_total", "A.");
  r.counter("b_total", "B.", {"x"});
  EXPECT_EQ(r.render(), "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  Family& f = r.counter("esc_total", "Back\\slash and\nnewline \"quotes\" stay.", {"v"});
  f.inc({"a\\b\"c\nd"});
  EXPECT_EQ(r.render(),
            "# HELP esc_total Back\\\\slash and\\nnewline \"quotes\" stay.\n"
            "# TYPE esc_total counter\n"
            "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistry, FormatsValues) {
  MetricsRegistry r;
  Family& g = r.gauge("g", "G.", {"k"});
  g.set({"big"}, 1e15);
  g.set({"huge"}, 1e300);
  g.set({"neg"}, -2);
  g.set({"small"}, 1e-9);
  g.set({"inf"}, std::numeric_limits<double>::infinity());
  g.set({"nan"}, std::nan(""));
  EXPECT_EQ(r.render(),
            "# HELP g G.\n# TYPE g gauge\n"
            "g{k=\"big\"} 1000000000000000\n"
            "g{k=\"huge\"} 1e+300\n"
            "g{k=\"inf\"} +Inf\n"
            "g{k=\"nan\"} NaN\n"
            "g{k=\"neg\"} -2\n"
            "g{k=\"small\"} 1e-09\n");
}

TEST(MetricsRegistry, HistogramBucketsAreInclusiveAndCumulative) {
  MetricsRegistry r;
  Family& f = r.histogram("h_seconds", "H.", {}, {1, 2, 5});
  Histogram* h = f.histogram({});
  ASSERT_NE(h, nullptr);
  for (double v : {0.5, 1.0, 1.5, 2.0, 5.0, 5.01, 100.0}) h->observe(v);
  h->observe(std::nan(""));  // counted in +Inf; the sum becomes NaN
  EXPECT_EQ(h->cumulative_counts(), (std::vector<uint64_t>{2, 4, 5, 8}));
  EXPECT_EQ(h->count(), 8u);
  EXPECT_TRUE(std::isnan(h->sum()));
  EXPECT_EQ(f.value({}), 8.0);

  Family& d = r.histogram("d_seconds", "D.");
  EXPECT_EQ(d.buckets(), default_buckets());
  EXPECT_EQ(default_buckets().front(), 0.005);
  EXPECT_EQ(default_buckets().back(), 10.0);

  std::string error;
  Family* inf = r.register_family(MetricKind::kHistogram, "inf_seconds", "I.", {},
                                  {1, 2, std::numeric_limits<double>::infinity()}, &error);
  ASSERT_NE(inf, nullptr) << error;
  EXPECT_EQ(inf->buckets(), (std::vector<double>{1, 2}));
  EXPECT_EQ(r.register_family(MetricKind::kHistogram, "bad_seconds", "B.", {}, {1, 1}, &error),
            nullptr);
  EXPECT_NE(error.find("strictly ascending"), std::string::npos) << error;
  EXPECT_EQ(r.register_family(MetricKind::kHistogram, "bad_seconds", "B.", {}, {2, 1}, &error),
            nullptr);
  EXPECT_EQ(
      r.register_family(MetricKind::kHistogram, "bad_seconds", "B.", {}, {1, std::nan("")}, &error),
      nullptr);
  EXPECT_NE(error.find("finite"), std::string::npos) << error;
  EXPECT_EQ(r.register_family(MetricKind::kHistogram, "bad_seconds", "B.", {"le"}, {}, &error),
            nullptr);
  EXPECT_NE(error.find("reserved"), std::string::npos) << error;

  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linear_buckets(0.5, 0.5, 3), (std::vector<double>{0.5, 1, 1.5}));
  EXPECT_TRUE(exponential_buckets(0, 2, 4).empty());
}

TEST(MetricsRegistry, ReRegistrationRules) {
  MetricsRegistry r;
  std::string error;
  Family* a =
      r.register_family(MetricKind::kCounter, "x_total", "X.", {"instance", "stage"}, {}, &error);
  ASSERT_NE(a, nullptr) << error;
  // Same kind and labels: the same family (help of the first registration kept).
  EXPECT_EQ(r.register_family(MetricKind::kCounter, "x_total", "Other help.", {"instance", "stage"},
                              {}, &error),
            a);
  EXPECT_EQ(a->help(), "X.");
  // Buckets are ignored for counters.
  EXPECT_EQ(
      r.register_family(MetricKind::kCounter, "x_total", "X.", {"instance", "stage"}, {1}, &error),
      a);

  error.clear();
  EXPECT_EQ(
      r.register_family(MetricKind::kGauge, "x_total", "X.", {"instance", "stage"}, {}, &error),
      nullptr);
  EXPECT_EQ(error,
            "metric x_total is already registered as counter with labels {instance,stage}; "
            "cannot register it as gauge with labels {instance,stage}");
  EXPECT_EQ(
      r.register_family(MetricKind::kCounter, "x_total", "X.", {"stage", "instance"}, {}, &error),
      nullptr);
  EXPECT_NE(error.find("{stage,instance}"), std::string::npos) << error;
  EXPECT_EQ(r.register_family(MetricKind::kCounter, "x_total", "X.", {"instance"}, {}, &error),
            nullptr);

  Family* h = r.register_family(MetricKind::kHistogram, "h_seconds", "H.", {}, {1, 2}, &error);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(r.register_family(MetricKind::kHistogram, "h_seconds", "H.", {}, {1, 2}, &error), h);
  EXPECT_EQ(r.register_family(MetricKind::kHistogram, "h_seconds", "H.", {}, {1, 3}, &error),
            nullptr);
  EXPECT_NE(error.find("other buckets"), std::string::npos) << error;
  // Default buckets given explicitly are the same as none.
  Family* d = r.register_family(MetricKind::kHistogram, "d_seconds", "D.", {}, {}, &error);
  EXPECT_EQ(
      r.register_family(MetricKind::kHistogram, "d_seconds", "D.", {}, default_buckets(), &error),
      d);

  // Names a histogram renders are taken, in both directions.
  EXPECT_EQ(r.register_family(MetricKind::kCounter, "h_seconds_count", "C.", {}, {}, &error),
            nullptr);
  EXPECT_NE(error.find("histogram h_seconds"), std::string::npos) << error;
  ASSERT_NE(r.register_family(MetricKind::kGauge, "q_sum", "Q.", {}, {}, &error), nullptr);
  EXPECT_EQ(r.register_family(MetricKind::kHistogram, "q", "Q.", {}, {}, &error), nullptr);

  // The host-code shorthands throw on a conflict.
  EXPECT_THROW(r.gauge("x_total", "X."), std::invalid_argument);
  EXPECT_EQ(&r.counter("x_total", "X.", {"instance", "stage"}), a);
  EXPECT_EQ(r.find("x_total"), a);
  EXPECT_EQ(r.find("nope"), nullptr);
}

TEST(MetricsRegistry, RejectsInvalidNames) {
  MetricsRegistry r;
  std::string error;
  for (const char* bad : {"", "1abc", "a-b", "a b", "é"}) {
    EXPECT_EQ(r.register_family(MetricKind::kCounter, bad, "h", {}, {}, &error), nullptr) << bad;
    EXPECT_NE(error.find("invalid metric name"), std::string::npos) << error;
  }
  EXPECT_NE(r.register_family(MetricKind::kCounter, "ns:sub_total", "h", {}, {}, &error), nullptr);
  for (const char* bad : {"", "a:b", "1x", "a-b"}) {
    EXPECT_EQ(r.register_family(MetricKind::kCounter, "ok_total", "h", {bad}, {}, &error), nullptr)
        << bad;
    EXPECT_NE(error.find("invalid label name"), std::string::npos) << error;
  }
  EXPECT_EQ(r.register_family(MetricKind::kCounter, "ok_total", "h", {"__x"}, {}, &error), nullptr);
  EXPECT_EQ(r.register_family(MetricKind::kCounter, "ok_total", "h", {"a", "a"}, {}, &error),
            nullptr);
  EXPECT_NE(error.find("duplicate label name \"a\""), std::string::npos) << error;
  // A null error pointer is fine.
  EXPECT_EQ(r.register_family(MetricKind::kCounter, "bad name", "h", {}), nullptr);
}

TEST(MetricsRegistry, RecordSemanticsByKind) {
  MetricsRegistry r;
  Family* c = r.register_family(MetricKind::kCounter, "c_total", "C.", {"l"});
  Family* g = r.register_family(MetricKind::kGauge, "g", "G.", {"l"});
  Family* h = r.register_family(MetricKind::kHistogram, "h_seconds", "H.", {"l"}, {1});
  std::vector<std::string_view> labels = {"a"};
  std::vector<std::string> owned = {"a"};

  EXPECT_TRUE(MetricsRegistry::record(c, labels, 2));
  EXPECT_TRUE(MetricsRegistry::record(c, owned, 3));
  EXPECT_FALSE(MetricsRegistry::record(c, labels, -1));  // counters only go up
  EXPECT_FALSE(MetricsRegistry::record(c, labels, std::nan("")));
  EXPECT_FALSE(MetricsRegistry::record(c, {"a", "b"}, 1));  // wrong label count
  EXPECT_FALSE(MetricsRegistry::record(c, {}, 1));
  EXPECT_FALSE(MetricsRegistry::record(nullptr, labels, 1));
  EXPECT_EQ(c->value({"a"}), 5.0);
  EXPECT_EQ(c->series_count(), 1u);

  EXPECT_TRUE(MetricsRegistry::record(g, labels, 7));
  EXPECT_TRUE(MetricsRegistry::record(g, labels, 4));  // set, not add
  EXPECT_EQ(g->value({"a"}), 4.0);
  EXPECT_TRUE(g->inc({"a"}, 2));
  g->gauge({"a"})->dec(0.5);
  EXPECT_EQ(g->value({"a"}), 5.5);

  EXPECT_TRUE(MetricsRegistry::record(h, labels, 0.5));
  EXPECT_TRUE(MetricsRegistry::record(h, labels, 3));
  EXPECT_EQ(h->value({"a"}), 2.0);  // the count
  EXPECT_EQ(h->histogram({"a"})->sum(), 3.5);

  // Explicit forms refuse the wrong kind.
  EXPECT_FALSE(c->set({"a"}, 1));
  EXPECT_FALSE(c->observe({"a"}, 1));
  EXPECT_FALSE(g->observe({"a"}, 1));
  EXPECT_FALSE(h->inc({"a"}, 1));
  EXPECT_EQ(c->gauge({"a"}), nullptr);
  EXPECT_EQ(g->histogram({"a"}), nullptr);
  EXPECT_EQ(h->counter({"a"}), nullptr);
  // Cached series pointers are stable.
  EXPECT_EQ(c->counter({"a"}), c->counter(owned));
  EXPECT_EQ(c->value({"zzz"}), 0.0);
  EXPECT_EQ(c->series_count(), 1u);  // value() does not create
}

TEST(MetricsRegistry, RemoveSeriesByLabelKeepsStalePointersSafe) {
  MetricsRegistry r;
  Family& f = r.counter("e_total", "E.", {"instance", "result"});
  Family& g = r.gauge("lag", "L.", {"instance"});
  Counter* stale = f.counter({"audit", "done"});
  stale->inc();
  f.inc({"audit", "failed"});
  f.inc({"metrics", "done"});
  g.set({"audit"}, 3);
  r.counter("other_total", "O.");  // no instance label: untouched

  EXPECT_EQ(r.remove_series("instance", "audit"), 3u);
  stale->inc();  // harmless, not rendered
  std::string text = r.render();
  EXPECT_EQ(text.find("audit"), std::string::npos) << text;
  EXPECT_NE(text.find("e_total{instance=\"metrics\",result=\"done\"} 1"), std::string::npos);
  EXPECT_EQ(text.find("# TYPE lag"), std::string::npos) << text;  // no series left
  // The instance comes back: a fresh series from zero.
  f.inc({"audit", "done"});
  EXPECT_EQ(f.value({"audit", "done"}), 1.0);
}

TEST(MetricsRegistry, CollectorsRunBeforeRenderingUntilRemoved) {
  MetricsRegistry r;
  Family& lag = r.gauge("wallet_eventd_consumer_lag", "Lag.", {"instance"});
  int calls = 0;
  auto id = r.add_collector([&] {
    ++calls;
    lag.set({"audit"}, 40 + calls);
  });
  r.add_collector([] { throw std::runtime_error("collector failure is contained"); });
  EXPECT_NE(r.render().find("wallet_eventd_consumer_lag{instance=\"audit\"} 41"),
            std::string::npos);
  EXPECT_NE(r.render().find("wallet_eventd_consumer_lag{instance=\"audit\"} 42"),
            std::string::npos);
  r.remove_collector(id);
  EXPECT_NE(r.render().find("wallet_eventd_consumer_lag{instance=\"audit\"} 42"),
            std::string::npos);
  EXPECT_EQ(calls, 2);
}

TEST(MetricsRegistry, ConcurrentRecordingRegistrationAndRendering) {
  MetricsRegistry r;
  constexpr int kThreads = 8;
  constexpr int kIterations = 20000;
  std::atomic<bool> stop_render{false};
  std::thread renderer([&] {
    while (!stop_render) {
      std::string text = r.render();
      ASSERT_TRUE(text.empty() || text.back() == '\n');
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&r, t] {
      // Every thread registers the same families: all get the same ones.
      Family* c = r.register_family(MetricKind::kCounter, "c_total", "C.", {"instance", "t"});
      Family* g = r.register_family(MetricKind::kGauge, "g", "G.", {"instance"});
      Family* h =
          r.register_family(MetricKind::kHistogram, "h_seconds", "H.", {"instance"}, {0.5, 1});
      ASSERT_NE(c, nullptr);
      ASSERT_NE(g, nullptr);
      ASSERT_NE(h, nullptr);
      std::string own = std::to_string(t % 4);
      Counter* cached = c->counter({"shared", "cached"});
      for (int i = 0; i < kIterations; ++i) {
        c->inc({"shared", "all"});
        c->inc({"own", own});
        cached->inc(0.5);
        g->inc({"shared"});
        h->observe({"shared"}, (i % 2) ? 0.25 : 0.75);
      }
    });
  }
  for (auto& t : threads) t.join();
  stop_render = true;
  renderer.join();

  Family* c = r.find("c_total");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->value({"shared", "all"}), double(kThreads) * kIterations);
  EXPECT_EQ(c->value({"shared", "cached"}), 0.5 * kThreads * kIterations);
  for (int o = 0; o < 4; ++o) {
    EXPECT_EQ(c->value({"own", std::to_string(o)}), 2.0 * kIterations);
  }
  EXPECT_EQ(r.find("g")->value({"shared"}), double(kThreads) * kIterations);
  Histogram* h = r.find("h_seconds")->histogram({"shared"});
  EXPECT_EQ(h->count(), uint64_t(kThreads) * kIterations);
  EXPECT_EQ(h->cumulative_counts(), (std::vector<uint64_t>{uint64_t(kThreads) * kIterations / 2,
                                                           uint64_t(kThreads) * kIterations,
                                                           uint64_t(kThreads) * kIterations}));
  EXPECT_EQ(h->sum(), 0.5 * kThreads * kIterations);
}

}  // namespace
}  // namespace wallet_eventd::admin
