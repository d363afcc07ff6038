// The three renderings of a StatsSnapshot (see stats_render.h). Each field
// list of counters.h / stats_fields.h becomes a table of Field descriptors
// here; the text, JSON and Prometheus writers walk those tables, so no
// counter is named twice in this file.
#include "proxyd/stats_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>

#include "dictcore/util/redact.h"

namespace proxyd::daemon {
namespace {

enum class Kind { Counter, Gauge };

template <class S>
struct Field {
  const char* name;  // text and JSON key
  Kind kind;
  const char* family;  // Prometheus name without "proxyd_"
  const char* label;   // extra label or ""
  const char* help;
  uint64_t (*get)(const S&);
};

#define PROXYD_TABLE_DESC(type, field, kind, family, label, help) \
  Field<dict::TableStats>{                                        \
      #field, Kind::kind,                                         \
      family, label,                                              \
      help,   +[](const dict::TableStats& s) { return static_cast<uint64_t>(s.field); }},
#define PROXYD_POOL_DESC(type, field, kind, family, label, help) \
  Field<dict::PoolStats>{                                        \
      #field, Kind::kind,                                        \
      family, label,                                             \
      help,   +[](const dict::PoolStats& s) { return static_cast<uint64_t>(s.field); }},
#define PROXYD_CACHE_DESC(type, field, kind, family, label, help) \
  Field<CacheFigures>{                                            \
      #field, Kind::kind,                                         \
      family, label,                                              \
      help,   +[](const CacheFigures& s) { return static_cast<uint64_t>(s.field); }},
#define PROXYD_FORWARD_DESC(type, field, kind, family, label, help) \
  Field<ForwardFigures>{                                            \
      #field, Kind::kind,                                           \
      family, label,                                                \
      help,   +[](const ForwardFigures& s) { return static_cast<uint64_t>(s.field); }},
#define PROXYD_SERVER_DESC(type, field, kind, family, label, help) \
  Field<ServerFigures>{                                            \
      #field, Kind::kind,                                          \
      family, label,                                               \
      help,   +[](const ServerFigures& s) { return static_cast<uint64_t>(s.field); }},

const Field<dict::TableStats> kTableFields[] = {PROXYD_TABLE_COUNTERS(PROXYD_TABLE_DESC)};
const Field<dict::PoolStats> kPoolFields[] = {PROXYD_POOL_GAUGES(PROXYD_POOL_DESC)
                                                  PROXYD_POOL_COUNTERS(PROXYD_POOL_DESC)};
const Field<CacheFigures> kCacheFields[] = {PROXYD_CACHE_FIELDS(PROXYD_CACHE_DESC)};
const Field<ServerFigures> kServerFields[] = {PROXYD_SERVER_FIELDS(PROXYD_SERVER_DESC)};
const Field<ForwardFigures> kForwardFields[] = {
    PROXYD_FORWARD_FIELDS(PROXYD_FORWARD_DESC)};

#undef PROXYD_TABLE_DESC
#undef PROXYD_POOL_DESC
#undef PROXYD_CACHE_DESC
#undef PROXYD_SERVER_DESC
#undef PROXYD_FORWARD_DESC

std::string ms(std::chrono::microseconds us) {
  return fmt::format("{:.3f}", static_cast<double>(us.count()) / 1000.0);
}

// A pool label as one word of the text format: "mysql:db@host,user=u".
std::string pool_word(const std::string& label) {
  std::string word = dict::redact_secrets(label);
  std::replace(word.begin(), word.end(), ' ', ',');
  return word;
}

template <class S, std::size_t N>
void text_fields(std::string& out, const Field<S> (&fields)[N], const S& s) {
  for (const auto& f : fields) out += fmt::format(" {}={}", f.name, f.get(s));
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

template <class S, std::size_t N>
void json_fields(std::string& out, const Field<S> (&fields)[N], const S& s) {
  for (const auto& f : fields) out += fmt::format(",\"{}\":{}", f.name, f.get(s));
}

std::string label_value(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Prometheus exposition writer: one family at a time.
class Exposition {
 public:
  explicit Exposition(std::string service) : service_(label_value(service)) {}

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ +=
        fmt::format("# HELP proxyd_{} {}\n# TYPE proxyd_{} {}\n", name, help, name, type);
  }
  // labels: extra `k="v"` pairs joined by commas, or "".
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += fmt::format("proxyd_{}{{service=\"{}\"{}{}}} {}\n", name, service_,
                        labels.empty() ? "" : ",", labels, value);
  }
  void sample(std::string_view name, std::string_view labels, uint64_t value) {
    sample(name, labels, std::string_view(fmt::format("{}", value)));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string service_;
  std::string out_;
};

// One family per run of fields with the same family name, with a sample per
// object (named by key_label) and field.
template <class S, std::size_t N>
void prom_fields(Exposition& ex, const Field<S> (&fields)[N],
                 const std::vector<std::pair<std::string, const S*>>& objects) {
  for (std::size_t i = 0; i < N;) {
    std::size_t j = i;
    while (j < N && std::string_view(fields[j].family) == fields[i].family) ++j;
    ex.family(fields[i].family, fields[i].kind == Kind::Counter ? "counter" : "gauge",
              fields[i].help);
    for (const auto& [key, obj] : objects) {
      for (std::size_t k = i; k < j; ++k) {
        std::string labels = key;
        if (*fields[k].label)
          labels +=
              labels.empty() ? fields[k].label : fmt::format(",{}", fields[k].label);
        ex.sample(fields[k].family, labels, fields[k].get(*obj));
      }
    }
    i = j;
  }
}

void prom_daemon(Exposition& ex, const DaemonFigures& d) {
  ex.family("build_info", "gauge", "proxyd build: the version is a label; always 1");
  ex.sample("build_info", fmt::format("version=\"{}\"", label_value(PROXYD_VERSION)), 1);
  ex.family("start_time_seconds", "gauge",
            "Start of the daemon, seconds since the epoch");
  ex.sample("start_time_seconds", "", static_cast<uint64_t>(d.start_time_s));
  ex.family("uptime_seconds", "gauge", "Seconds since the daemon started");
  ex.sample("uptime_seconds", "", static_cast<uint64_t>(d.uptime_s));
  ex.family(
      "config_generation", "gauge",
      "Configuration generation served: 1 at start, one more per successful reload");
  ex.sample("config_generation", "", d.generation);
  ex.family("reloads_total", "counter", "Successful configuration reloads");
  ex.sample("reloads_total", "", d.reloads);
  ex.family("reload_failures_total", "counter",
            "Refused configuration reloads (the previous configuration stays in use)");
  ex.sample("reload_failures_total", "", d.reload_failures);
  ex.family("config_last_reload_successful", "gauge",
            "1 when the last reload attempt succeeded (or none was made), else 0");
  ex.sample("config_last_reload_successful", "", d.last_reload_ok ? 1 : 0);
  ex.family("config_last_reload_success_timestamp_seconds", "gauge",
            "When the configuration in use was loaded, seconds since the epoch");
  ex.sample("config_last_reload_success_timestamp_seconds", "",
            static_cast<uint64_t>(d.last_reload_s));
}

void prom_latency(Exposition& ex, const StatsSnapshot& s) {
  using H = dict::LatencyHistogram;
  ex.family("table_lookup_duration_seconds", "histogram",
            "Time from request to answer of every lookup, in seconds");
  for (const auto& [table, st] : s.tables) {
    const std::string t =
        fmt::format("table=\"{}\"", label_value(dict::redact_secrets(table)));
    const auto& b = st.latency.export_buckets();
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < H::kExportBoundsUs.size(); ++i) {
      cumulative += b[i];
      ex.sample("table_lookup_duration_seconds_bucket",
                fmt::format("{},le=\"{}\"", t,
                            static_cast<double>(H::kExportBoundsUs[i]) / 1e6),
                cumulative);
    }
    ex.sample("table_lookup_duration_seconds_bucket", fmt::format("{},le=\"+Inf\"", t),
              st.latency.count());
    ex.sample("table_lookup_duration_seconds_sum", t,
              std::string_view(
                  fmt::format("{}", static_cast<double>(st.latency.sum_us()) / 1e6)));
    ex.sample("table_lookup_duration_seconds_count", t, st.latency.count());
  }
}

}  // namespace

std::string render_text(const StatsSnapshot& s) {
  const DaemonFigures& d = s.daemon;
  std::string out =
      fmt::format("proxyd version={} uptime_s={} generation={} reloads={}\n",
                  PROXYD_VERSION, d.uptime_s, d.generation, d.reloads);
  for (const auto& [name, st] : s.tables) {
    out += fmt::format("table {}", name);
    text_fields(out, kTableFields, st);
    out +=
        fmt::format(" p50_ms={} p90_ms={} p99_ms={}\n", ms(st.latency.percentile(0.50)),
                    ms(st.latency.percentile(0.90)), ms(st.latency.percentile(0.99)));
  }
  for (const dict::PoolStats& p : s.pools) {
    out += fmt::format("pool {}", pool_word(p.label));
    text_fields(out, kPoolFields, p);
    out += '\n';
  }
  for (const ForwardFigures& f : s.forwards) {
    out += fmt::format("forward_pool {} path={}", f.label, f.path.empty() ? "-" : f.path);
    text_fields(out, kForwardFields, f);
    out += '\n';
    for (const std::string& table : f.tables) {
      out += fmt::format("forwarded {} role={} to={}\n", table, f.label, f.path);
    }
  }
  if (s.cache) {
    out += "cache";
    text_fields(out, kCacheFields, *s.cache);
    out += '\n';
  }
  std::string server = "server";
  text_fields(server, kServerFields, s.server);
  // Labels are redacted already; never a password.
  return dict::redact_secrets(out) + server + "\n";
}

std::string render_json(const StatsSnapshot& s) {
  const DaemonFigures& d = s.daemon;
  std::string out = fmt::format(
      "{{\"service\":{},\"version\":{},\"uptime_s\":{},\"start_time_s\":{},"
      "\"generation\":{},"
      "\"reloads\":{},\"reload_failures\":{},\"last_reload_ok\":{},\"last_reload_s\":{}",
      json_string(d.service), json_string(PROXYD_VERSION), d.uptime_s, d.start_time_s,
      d.generation, d.reloads, d.reload_failures, d.last_reload_ok ? "true" : "false",
      d.last_reload_s);
  out += ",\"tables\":{";
  bool first = true;
  for (const auto& [table, st] : s.tables) {
    const std::string name = dict::redact_secrets(table);  // never a password
    out += fmt::format("{}{}:{{\"table\":{}", first ? "" : ",", json_string(name),
                       json_string(name));
    json_fields(out, kTableFields, st);
    out += fmt::format(
        ",\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"latency_count\":{},\"latency_sum_"
        "s\":{}}}",
        ms(st.latency.percentile(0.50)), ms(st.latency.percentile(0.90)),
        ms(st.latency.percentile(0.99)), st.latency.count(),
        static_cast<double>(st.latency.sum_us()) / 1e6);
    first = false;
  }
  out += "},\"pools\":{";
  first = true;
  for (const dict::PoolStats& p : s.pools) {
    std::string label = dict::redact_secrets(p.label);
    out += fmt::format("{}{}:{{\"pool\":{}", first ? "" : ",", json_string(label),
                       json_string(label));
    json_fields(out, kPoolFields, p);
    out += "}";
    first = false;
  }
  out += "},\"forward_pools\":{";
  first = true;
  for (const ForwardFigures& f : s.forwards) {
    out += fmt::format("{}{}:{{\"pool\":{},\"path\":{}", first ? "" : ",",
                       json_string(f.label), json_string(f.label), json_string(f.path));
    json_fields(out, kForwardFields, f);
    out += ",\"tables\":[";
    for (std::size_t i = 0; i < f.tables.size(); ++i) {
      out += fmt::format("{}{}", i ? "," : "",
                         json_string(dict::redact_secrets(f.tables[i])));
    }
    out += "]}";
    first = false;
  }
  out += "},\"cache\":";
  if (s.cache) {
    out += "{";
    json_fields(out, kCacheFields, *s.cache);
    out.erase(1 + out.rfind('{'), 1);  // the leading comma of the first field
    out += "}";
  } else {
    out += "null";
  }
  out += ",\"server\":{";
  json_fields(out, kServerFields, s.server);
  out.erase(1 + out.rfind('{'), 1);
  return out + "}}";
}

std::string render_prometheus(const StatsSnapshot& s) {
  Exposition ex(s.daemon.service.empty() ? "standalone" : s.daemon.service);
  prom_daemon(ex, s.daemon);
  std::vector<std::pair<std::string, const dict::TableStats*>> tables;
  for (const auto& [name, st] : s.tables) {
    tables.emplace_back(
        fmt::format("table=\"{}\"", label_value(dict::redact_secrets(name))), &st);
  }
  prom_fields(ex, kTableFields, tables);
  prom_latency(ex, s);
  std::vector<std::pair<std::string, const dict::PoolStats*>> pools;
  for (const dict::PoolStats& p : s.pools) {
    pools.emplace_back(
        fmt::format("pool=\"{}\"", label_value(dict::redact_secrets(p.label))), &p);
  }
  prom_fields(ex, kPoolFields, pools);
  std::vector<std::pair<std::string, const ForwardFigures*>> forwards;
  for (const ForwardFigures& f : s.forwards) {
    forwards.emplace_back(fmt::format("pool=\"{}\"", label_value(f.label)), &f);
  }
  if (!forwards.empty()) prom_fields(ex, kForwardFields, forwards);
  if (s.cache) prom_fields(ex, kCacheFields, {{std::string(), &*s.cache}});
  prom_fields(ex, kServerFields, {{std::string(), &s.server}});
  return ex.take();
}

std::string merge_prometheus(const std::vector<std::string>& outputs) {
  struct Family {
    std::string header;
    std::string samples;
  };
  std::vector<std::string> order;
  std::map<std::string, Family> families;
  for (const std::string& text : outputs) {
    Family* current = nullptr;
    std::string_view rest = text;
    while (!rest.empty()) {
      std::size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.starts_with("# HELP ")) {
        std::string_view after = line.substr(7);
        std::string name(after.substr(0, after.find(' ')));
        auto [it, fresh] = families.try_emplace(name);
        if (fresh) order.push_back(name);
        current = &it->second;
        if (fresh) current->header += fmt::format("{}\n", line);
        continue;
      }
      if (current == nullptr || line.empty()) continue;
      if (line.starts_with("# TYPE ")) {
        if (current->header.find("\n# TYPE") == std::string::npos) {
          current->header += fmt::format("{}\n", line);
        }
        continue;
      }
      current->samples += fmt::format("{}\n", line);
    }
  }
  std::string out;
  for (const std::string& name : order)
    out += families[name].header + families[name].samples;
  return out;
}

}  // namespace proxyd::daemon
