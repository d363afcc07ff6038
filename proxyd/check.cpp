// `proxyd check` (see check.h): allowlisted tables, their files, database
// hosts, chroot reachability and main.cf tables missing from the
// allowlists, reported one line per table and then one line per problem.
#include "proxyd/check.h"
#include "proxyd/forward_layout.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "dictcore/config_error.h"
#include "dictcore/redact.h"
#include "dictcore/tokens.h"
#include "proxyd/environment.h"
#include "proxyd/log.h"
#include "proxyd/preflight.h"
#include "proxyd/postfix_release.h"
#include "proxyd/reload.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {
namespace {

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// Collect proxy: tables named in one (expanded) parameter value.
void scan_value(std::string_view value, std::vector<std::string>& tables, int depth) {
  if (depth > 8) return;
  std::string_view rest = value;
  while (auto token = dict::next_grouped_token(rest)) {
    std::string_view t = *token;
    if (t.front() == '{' && t.back() == '}') {
      scan_value(t.substr(1, t.size() - 2), tables, depth + 1);
      continue;
    }
    bool proxied = t.starts_with("proxy:");
    std::string_view name = dict::strip_proxy_prefixes(t);
    if (name.starts_with("unionmap:{") || name.starts_with("pipemap:{")) {
      std::size_t open = name.find('{');
      if (name.back() == '}') {
        scan_value(name.substr(open + 1, name.size() - open - 2), tables, depth + 1);
      }
      continue;
    }
    if (proxied && name.find(':') != std::string_view::npos) tables.emplace_back(name);
  }
}

// Seconds check waits for one database host.
constexpr std::chrono::seconds kProbeTimeout{5};

}  // namespace

bool chroot_default(std::string_view compatibility_level) {
  // Level "0" (or anything whose major number is 0) keeps the old default y.
  std::size_t digits = 0;
  int major = 0;
  while (digits < compatibility_level.size() && digits < 6 &&
         compatibility_level[digits] >= '0' && compatibility_level[digits] <= '9') {
    major = major * 10 + (compatibility_level[digits] - '0');
    ++digits;
  }
  return major < 1;
}

std::vector<MasterService> parse_master_cf(std::string_view text, bool chroot_dash) {
  std::vector<std::pair<int, std::string>> entries;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(
        pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    if (first > 0 && !entries.empty()) {
      entries.back().second += ' ';
      entries.back().second += line;
    } else {
      entries.emplace_back(line_no, std::string(line));
    }
  }
  std::vector<MasterService> out;
  for (const auto& [no, entry] : entries) {
    std::vector<std::string> f = split_ws(entry);
    if (f.size() < 8) continue;
    MasterService s;
    s.name = f[0];
    s.type = f[1];
    s.chroot = f[4] == "-" ? chroot_dash : (f[4] == "y" || f[4] == "yes");
    s.line_no = no;
    out.push_back(std::move(s));
  }
  return out;
}

const std::vector<std::string_view>& write_map_parameters() {
  // Postfix's proxy_write_maps default (mail_params.h DEF_PROXY_WRITE_MAPS).
  static const std::vector<std::string_view> kParams = {
      "smtp_sasl_auth_cache_name", "lmtp_sasl_auth_cache_name", "address_verify_map",
      "postscreen_cache_map"};
  return kParams;
}

std::vector<UnlistedTable> unlisted_proxy_tables(const dict::MainCf& main_cf,
                                                 const dict::Allowlist& read,
                                                 const dict::Allowlist& write) {
  std::map<std::pair<std::string, std::string>, UnlistedTable> found;
  for (const std::string& param : main_cf.parameter_names()) {
    if (param == "proxy_read_maps" || param == "proxy_write_maps") continue;
    bool writes = std::find(write_map_parameters().begin(), write_map_parameters().end(),
                            param) != write_map_parameters().end();
    const dict::Allowlist& list = writes ? write : read;
    // Parameters left at a default that merely refers to another one
    // (virtual_alias_domains = $virtual_alias_maps) would repeat its tables.
    std::optional<std::string> raw = main_cf.raw(param);
    if (!main_cf.is_set(param) && (!raw || raw->find("proxy:") == std::string::npos))
      continue;
    std::vector<std::string> tables;
    scan_value(main_cf.get(param), tables, 0);
    for (const std::string& table : tables) {
      if (list.contains(table)) continue;
      std::string list_param = writes ? "proxy_write_maps" : "proxy_read_maps";
      UnlistedTable& u = found[{list_param, table}];
      u.table = table;
      u.list_parameter = list_param;
      if (std::find(u.used_by.begin(), u.used_by.end(), param) == u.used_by.end()) {
        u.used_by.push_back(param);
      }
    }
  }
  std::vector<UnlistedTable> out;
  for (auto& [key, u] : found) out.push_back(std::move(u));
  return out;
}

std::string approve_command(std::string_view list_parameter,
                            const std::vector<std::string>& tables,
                            const std::string& config_dir) {
  std::string quoted;  // single-quoted for the shell
  for (char ch : config_dir)
    quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  std::string c =
      config_dir == "/etc/postfix" ? std::string() : fmt::format(" -c '{}'", quoted);
  std::string added;
  for (const std::string& t : tables) added += fmt::format(" proxy:{}", t);
  return fmt::format("postconf{} -e \"{} = $(postconf{} -h {}){}\"", c, list_parameter, c,
                     list_parameter, added);
}

std::string probe_host(const dict::ConnectParams& params, const dict::HostSpec& host,
                       std::chrono::seconds timeout) {
  // The attempt runs on its own thread so that a host that never answers
  // costs at most timeout; such a thread is left behind (detached) and ends
  // with the process, which exits right after the check.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::string error;
  };
  auto state = std::make_shared<State>();
  std::thread worker([state, params, host] {
    std::string error;
    try {
      std::unique_ptr<dict::SqlDriver> driver = dict::make_driver(params);
      if (!driver) {
        error = fmt::format("the {} driver is not built into proxyd",
                            dict::sql_kind_name(params.kind));
      } else {
        driver->thread_init();
        dict::ConnectResult r = driver->connect(host);
        if (!r.session)
          error = r.error.empty() ? std::string("connection failed") : r.error;
        r.session.reset();
        driver->thread_end();
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::lock_guard lock(state->mu);
    state->error = dict::redact_value(error, params.password);
    state->done = true;
    state->cv.notify_all();
  });
  std::unique_lock lock(state->mu);
  if (state->cv.wait_for(lock, timeout, [&] { return state->done; })) {
    lock.unlock();
    worker.join();
    return state->error;
  }
  lock.unlock();
  worker.detach();
  return fmt::format("no answer within {} seconds", timeout.count());
}

int run_check(const std::string& config_dir,
              const std::vector<std::pair<std::string, std::string>>& overrides,
              bool verbose, std::FILE* out) {
  DaemonLogger log("proxyd", false, verbose);
  std::vector<std::string> problems;
  std::optional<dict::MainCf> cf;
  try {
    cf = load_main_cf(ConfigSource{config_dir, overrides}, log);
    // Probe the hosts as the daemon will connect: in its environment.
    clean_environment(cf->get("import_environment"));
  } catch (const std::exception& e) {
    std::fprintf(out, "PROBLEM: %s\n", dict::redact_secrets(e.what()).c_str());
    return 1;
  }
  bool standalone_chroot = false;
  std::string postfix_version = "auto";
  try {
    Settings settings = load_settings(config_dir, log);
    standalone_chroot = settings.chroot;
    postfix_version = settings.postfix_version;
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }

  // Which services master(8) would chroot; a standalone proxyd with
  // "chroot = yes" in proxyd.cf chroots both.
  std::string jail_read, jail_write;
  JailOwner owner_read = JailOwner::Master, owner_write = JailOwner::Master;
  if (standalone_chroot) {
    jail_read = jail_write = cf->get("queue_directory");
    owner_read = owner_write = JailOwner::Standalone;
    std::fprintf(out, "proxyd: runs chrooted to %s (proxyd.cf chroot = yes)\n",
                 jail_read.c_str());
  }
  std::string master_path = (cf->config_dir() / "master.cf").string();
  std::ifstream master_in(master_path);
  bool forwarding = false;  // the forwarding layout: other types go to Postfix's proxymap
  if (master_in) {
    std::ostringstream text;
    text << master_in.rdbuf();
    forwarding = forwarding_layout_configured(*cf, text.str());
    bool dash = chroot_default(cf->get("compatibility_level"));
    for (const MasterService& s : parse_master_cf(text.str(), dash)) {
      if (s.type != "unix" || !s.chroot) continue;
      if (s.name == "proxymap") {
        jail_read = cf->get("queue_directory");
        owner_read = JailOwner::Master;
      }
      if (s.name == "proxywrite") {
        jail_write = cf->get("queue_directory");
        owner_write = JailOwner::Master;
      }
      if (s.name == "proxymap" || s.name == "proxywrite") {
        std::fprintf(out, "%s: runs chrooted to %s (master.cf line %d)\n", s.name.c_str(),
                     cf->get("queue_directory").c_str(), s.line_no);
      }
    }
  }

  // mail_owner's identity, when we run as root and the daemon would drop to it.
  std::optional<Credentials> owner;
  if (geteuid() == 0) {
    std::string user = cf->get("mail_owner");
    owner = credentials_for_user(user);
    if (!owner) {
      problems.push_back(
          fmt::format("main.cf: mail_owner \"{}\" is not a known user", user));
    }
  }

  dict::TableEnv env;
  env.main_cf = &*cf;
  env.log = &log;
  env.postfix_version = resolve_postfix_version(postfix_version, *cf, config_dir, log);
  dict::Allowlist read = dict::Allowlist::build(*cf, true, log);
  dict::Allowlist write = dict::Allowlist::build(*cf, false, log);
  std::map<std::string, std::string> probed;  // identity + host -> error
  bool unserved = false;  // a table proxyd cannot serve, without forwarding
  std::size_t table_count = 0;
  for (const auto* list : {&read, &write}) {
    const std::string& jail = list == &read ? jail_read : jail_write;
    JailOwner jail_owner = list == &read ? owner_read : owner_write;
    for (const std::string& table : list->tables()) {
      ++table_count;
      TableInspection in =
          inspect_table(table, env, jail, owner ? &*owner : nullptr, jail_owner);
      std::vector<std::string> mine;
      for (const Finding& f : in.findings) {
        if (f.kind == FindingKind::Unsupported && forwarding) continue;  // Postfix serves it
        if (f.kind == FindingKind::Unsupported) unserved = true;
        mine.push_back(f.message);
      }
      if (in.sql && in.sql->kind != dict::SqlKind::Sqlite) {
        const dict::ConnectParams& c = in.sql->connect;
        for (const dict::HostSpec& h : c.hosts) {
          std::string key = c.identity_key() + '\n' + h.text;
          auto it = probed.find(key);
          if (it == probed.end())
            it = probed.emplace(key, probe_host(c, h, kProbeTimeout)).first;
          if (!it->second.empty()) {
            mine.push_back(fmt::format("{}: cannot connect to database host {}: {}",
                                       table, h.text, it->second));
          }
        }
      }
      if (in.sql) {  // the .cf password value, wherever a driver repeats it
        for (std::string& m : mine) m = dict::redact_value(m, in.sql->connect.password);
      }
      std::fprintf(out, "%-8s %-17s %s\n", mine.empty() ? "ok" : "PROBLEM",
                   list->parameter().c_str(), dict::redact_secrets(table).c_str());
      problems.insert(problems.end(), mine.begin(), mine.end());
    }
  }

  std::map<std::string, std::vector<std::string>> to_add;  // list parameter -> tables
  for (const UnlistedTable& u : unlisted_proxy_tables(*cf, read, write)) {
    std::string users;
    for (const std::string& p : u.used_by) users += (users.empty() ? "" : ", ") + p;
    problems.push_back(fmt::format("main.cf: {} uses proxy:{}, which {} does not list",
                                   users, u.table, u.list_parameter));
    to_add[u.list_parameter].push_back(u.table);
  }

  if (problems.empty()) {
    std::fprintf(out, "all well: %zu table(s) checked, no problems\n", table_count);
    return 0;
  }
  std::fprintf(out, "\n%zu problem(s):\n", problems.size());
  for (const std::string& p : problems)
    std::fprintf(out, "  %s\n", dict::redact_secrets(p).c_str());
  if (unserved) {
    std::fprintf(out,
                 "\nproxyd cannot serve every table type above; to have Postfix's own proxymap "
                 "serve them behind proxyd, use the forwarding layout (then postfix reload):\n%s",
                 forwarding_layout_lines(!jail_read.empty()).c_str());
  }
  for (const auto& [param, tables] : to_add) {
    std::fprintf(out, "\nto approve the tables missing from %s, run:\n  %s\n",
                 param.c_str(), approve_command(param, tables, config_dir).c_str());
  }
  return 1;
}

}  // namespace proxyd::daemon
