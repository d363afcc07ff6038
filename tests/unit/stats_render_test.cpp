// The stats renderings (text kept byte-identical, JSON, Prometheus, the
// merge of several daemons) and metrics_listen parsing.
#include "proxyd/stats_render.h"

#include <gtest/gtest.h>

#include "proxyd/metrics_address.h"

namespace proxyd::daemon {
namespace {

StatsSnapshot sample() {
  StatsSnapshot s;
  s.daemon.uptime_s = 7;
  s.daemon.generation = 2;
  s.daemon.reloads = 1;
  dict::TableStats t;
  t.requests = 5;
  t.ok = 3;
  t.notfound = 2;
  t.queries = 4;
  t.latency.record(std::chrono::microseconds(50));
  t.latency.record(std::chrono::microseconds(3000));
  t.latency.record(std::chrono::seconds(20));
  s.tables.emplace_back("hash:/etc/x", t);
  dict::PoolStats p;
  p.label = "mysql:db@h user=u";
  p.sessions_open = 1;
  p.max_sessions = 4;
  p.jobs = 9;
  s.pools.push_back(p);
  s.cache = CacheFigures{1, 2, 3, 4};
  s.server.connections = 6;
  return s;
}

TEST(StatsRender, TextIsTheHistoricalFormat) {
  std::string text = render_text(sample());
  ASSERT_TRUE(text.starts_with("proxyd version="));
  EXPECT_EQ(text.substr(text.find(' ', 15)),
            " uptime_s=7 generation=2 reloads=1\n"
            "table hash:/etc/x requests=5 ok=3 notfound=2 retry=0 failed=0 cache_hits=0 "
            "coalesced=0 timeouts=0 queries=4 p50_ms=3.072 p90_ms=20971.520 "
            "p99_ms=20971.520\n"
            "pool mysql:db@h,user=u sessions_open=1 sessions_busy=0 sessions_peak=0 "
            "max_sessions=4 queued=0 queue_peak=0 jobs=9 rejected=0 expired=0 connects=0 "
            "connect_failures=0 retried=0 batches=0 batched=0 probes=0 revived=0 "
            "loop_answered=0\n"
            "cache entries=1 bytes=2 max_bytes=3 evictions=4\n"
            "server connections=6 max_clients=0 idle_closed=0 refused=0 accept_errors=0 "
            "memory_bytes=0 memory_peak=0 max_memory_bytes=0 memory_waiting=0 "
            "memory_pauses=0\n");
}

TEST(StatsRender, JsonCarriesTheSameNumbers) {
  std::string j = render_json(sample());
  EXPECT_NE(j.find("\"hash:/etc/x\":{\"table\":\"hash:/etc/x\",\"requests\":5,\"ok\":3,"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"jobs\":9"), std::string::npos);
  EXPECT_NE(j.find("\"cache\":{\"entries\":1,\"bytes\":2,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"server\":{\"connections\":6,"), std::string::npos) << j;
  EXPECT_EQ(j.back(), '}');
}

TEST(StatsRender, PrometheusHistogramAndLabels) {
  std::string p = render_prometheus(sample());
  EXPECT_NE(
      p.find("# TYPE proxyd_table_lookups_total counter\n"
             "proxyd_table_lookups_total{service=\"standalone\",table=\"hash:/etc/x\","
             "result=\"ok\"} 3\n"),
      std::string::npos)
      << p;
  // 50 us is under the first bound, 3 ms under 5 ms, 20 s only in +Inf.
  EXPECT_NE(p.find("le=\"0.0001\"} 1\n"), std::string::npos) << p;
  EXPECT_NE(p.find("le=\"0.0025\"} 1\n"), std::string::npos) << p;
  EXPECT_NE(p.find("le=\"0.005\"} 2\n"), std::string::npos) << p;
  EXPECT_NE(p.find("le=\"10\"} 2\n"), std::string::npos) << p;
  EXPECT_NE(p.find("le=\"+Inf\"} 3\n"), std::string::npos) << p;
  EXPECT_NE(
      p.find(
          "proxyd_pool_jobs_total{service=\"standalone\",pool=\"mysql:db@h user=u\"} 9"),
      std::string::npos);
}

TEST(StatsRender, MergeGroupsFamilies) {
  StatsSnapshot a = sample();
  StatsSnapshot b = sample();
  a.daemon.service = "proxymap";
  b.daemon.service = "proxywrite";
  std::string merged = merge_prometheus({render_prometheus(a), render_prometheus(b)});
  std::size_t type = merged.find("# TYPE proxyd_pool_jobs_total counter\n");
  ASSERT_NE(type, std::string::npos);
  EXPECT_EQ(merged.find("# TYPE proxyd_pool_jobs_total", type + 1), std::string::npos);
  std::size_t first = merged.find("proxyd_pool_jobs_total{service=\"proxymap\"");
  std::size_t second = merged.find("proxyd_pool_jobs_total{service=\"proxywrite\"");
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(second, merged.find('\n', first) + 1);  // adjacent samples
}

// Forwarding pools (issue 12) in all three renderings: the text is the
// format the forwarding tests and scripts read; JSON and Prometheus carry
// the same numbers, RETRY causes as one family with a reason label.
TEST(StatsRender, ForwardPoolsInEveryRendering) {
  StatsSnapshot s = sample();
  ForwardFigures f;
  f.label = "read";
  f.path = "/private/proxymap";
  f.tables = {"cidr:/etc/postfix/clients"};
  f.connections_open = 2;
  f.max_connections = 4;
  f.max_queue = 1024;
  f.jobs = 11;
  f.answered = 9;
  f.expired = 1;
  f.died = 1;
  s.forwards.push_back(f);
  std::string text = render_text(s);
  EXPECT_NE(
      text.find("\nforward_pool read path=/private/proxymap connections_open=2 "
                "connections_busy=0 connections_peak=0 max_connections=4 queued=0 "
                "queue_peak=0 max_queue=1024 jobs=11 answered=9 rejected=0 expired=1 "
                "unreachable=0 died=1 resent=0 connects=0 connect_failures=0\n"
                "forwarded cidr:/etc/postfix/clients role=read to=/private/proxymap\n"
                "cache "),
      std::string::npos)
      << text;
  std::string j = render_json(s);
  EXPECT_NE(j.find("\"forward_pools\":{\"read\":{\"pool\":\"read\",\"path\":\"/private/"
                   "proxymap\",\"connections_open\":2,"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"jobs\":11,\"answered\":9,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"tables\":[\"cidr:/etc/postfix/clients\"]}}"), std::string::npos)
      << j;
  std::string p = render_prometheus(s);
  EXPECT_NE(
      p.find("proxyd_forward_requests_total{service=\"standalone\",pool=\"read\"} 11\n"),
      std::string::npos)
      << p;
  EXPECT_NE(p.find("# TYPE proxyd_forward_retries_total counter\n"
                   "proxyd_forward_retries_total{service=\"standalone\",pool=\"read\","
                   "reason=\"queue_full\"} 0\n"
                   "proxyd_forward_retries_total{service=\"standalone\",pool=\"read\","
                   "reason=\"timeout\"} 1\n"),
            std::string::npos)
      << p;
  // Without forwarding pools there are no forward_ families at all.
  EXPECT_EQ(render_prometheus(sample()).find("proxyd_forward_"), std::string::npos);
}

TEST(MetricsAddress, ParsesAndChecks) {
  std::string error;
  auto a = parse_metrics_address("127.0.0.1:9471", error);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback());
  EXPECT_EQ(a->port, 9471);
  a = parse_metrics_address("[::1]:80", error);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback());
  EXPECT_EQ(a->host, "::1");
  a = parse_metrics_address("10.0.0.1:80", error);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->loopback());
  EXPECT_FALSE(parse_metrics_address("localhost:80", error));
  EXPECT_FALSE(parse_metrics_address("127.0.0.1:0", error));
  EXPECT_FALSE(parse_metrics_address("127.0.0.1:65536", error));
  EXPECT_FALSE(parse_metrics_address("unix:rel", error));
  EXPECT_TRUE(parse_metrics_address("unix:/run/m.sock", error));
  EXPECT_EQ(check_metrics_listen("127.0.0.1:1 proxywrite=[::1]:2", false), "");
  EXPECT_NE(check_metrics_listen("0.0.0.0:1", false), "");
  EXPECT_EQ(check_metrics_listen("0.0.0.0:1", true), "");
  EXPECT_EQ(metrics_address_for("127.0.0.1:1 proxywrite=127.0.0.1:2", ""), "127.0.0.1:1");
  EXPECT_EQ(metrics_address_for("127.0.0.1:1 proxywrite=127.0.0.1:2", "proxywrite"),
            "127.0.0.1:2");
  EXPECT_EQ(metrics_address_for("127.0.0.1:1,proxywrite=127.0.0.1:2", "proxymap"),
            "127.0.0.1:1");
  EXPECT_EQ(metrics_address_for("", "proxymap"), "");
}

}  // namespace
}  // namespace proxyd::daemon
