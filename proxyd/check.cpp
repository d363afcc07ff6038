// `proxyd check` (see check.h): allowlisted tables, their files, database
// hosts, chroot reachability and main.cf tables missing from the
// allowlists, reported one line per table and then one line per problem.
#include "proxyd/check.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "dictcore/config/parameter_defaults.h"
#include "dictcore/pool/drivers/driver_factory.h"
#include "dictcore/pool/drivers/driver_paths.h"
#include "dictcore/util/config_error.h"
#include "dictcore/util/config_lines.h"
#include "dictcore/util/files.h"
#include "dictcore/util/redact.h"
#include "dictcore/util/text.h"
#include "dictcore/util/tokens.h"
#include "proxyd/environment.h"
#include "proxyd/forward_layout.h"
#include "proxyd/log.h"
#include "proxyd/postfix_release.h"
#include "proxyd/preflight.h"
#include "proxyd/reload.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {
namespace {

// The proxy: tables named in one (expanded) parameter value: the same walk
// the daemon's allowlist makes (dict::Allowlist), so check and proxyd agree.
// Its warnings (bad { } syntax, unreadable files) are not repeated here.
std::set<std::string, std::less<>> proxy_tables_in(std::string_view value) {
  dict::NullLogger quiet;
  return dict::Allowlist::from_value(value, quiet).tables();
}

// Seconds check waits for one database host.
constexpr std::chrono::seconds kProbeTimeout{5};

}  // namespace

bool chroot_default(std::string_view compatibility_level) {
  // Level "0" (or anything whose major number is 0) keeps the old default y.
  std::size_t digits = 0;
  int major = 0;
  while (digits < compatibility_level.size() && digits < 6 &&
         dict::ascii_digit(compatibility_level[digits])) {
    major = major * 10 + (compatibility_level[digits] - '0');
    ++digits;
  }
  return major < 1;
}

std::vector<MasterService> parse_master_cf(std::string_view text, bool chroot_dash) {
  // master(8) reads master.cf with readllines() and splits fields on
  // CHARS_SPACE; its warnings are postfix check's to give.
  dict::NullLogger quiet;
  std::vector<MasterService> out;
  for (const dict::LogicalLine& line : dict::logical_lines(text, "master.cf", quiet)) {
    const std::vector<std::string_view> f =
        dict::split_tokens(line.text, dict::kSpaceSeparators);
    if (f.size() < 8) continue;
    MasterService s;
    s.name = f[0];
    s.type = f[1];
    s.chroot = f[4] == "-" ? chroot_dash : (f[4] == "y" || f[4] == "yes");
    s.line_no = line.line_no;
    out.push_back(std::move(s));
  }
  return out;
}

const std::vector<std::string_view>& write_map_parameters() {
  static const std::vector<std::string_view> kParams =
      dict::default_proxy_write_map_parameters();
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
    for (const std::string& table : proxy_tables_in(main_cf.get(param))) {
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
        error = fmt::format("the {} client library could not be initialised",
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

namespace {

// Where the two services would be chrooted, and by whom.
struct Jails {
  std::string read, write;  // "" = not chrooted
  JailOwner owner_read = JailOwner::Master;
  JailOwner owner_write = JailOwner::Master;
  bool forwarding = false;  // the forwarding layout: other types go to Postfix's proxymap
};

// Which services master(8) would chroot (master.cf); a standalone proxyd
// with "chroot = yes" in proxyd.cf chroots both.
Jails find_jails(const dict::MainCf& cf, bool standalone_chroot, std::FILE* out) {
  Jails jails;
  const std::string queue_dir = cf.get("queue_directory");
  if (standalone_chroot) {
    jails.read = jails.write = queue_dir;
    jails.owner_read = jails.owner_write = JailOwner::Standalone;
    std::fprintf(out, "proxyd: runs chrooted to %s (proxyd.cf chroot = yes)\n",
                 queue_dir.c_str());
  }
  dict::UniqueFd master_fd =
      dict::open_read_only((cf.config_dir() / "master.cf").string());
  if (!master_fd.valid()) return jails;
  // Read up to the configuration cap; a read error ends the text there.
  std::string text;
  (void)dict::read_all(master_fd.get(), text, dict::kMaxConfigFileSize);
  jails.forwarding = forwarding_layout_configured(cf, text);
  bool dash = chroot_default(cf.get("compatibility_level"));
  for (const MasterService& s : parse_master_cf(text, dash)) {
    if (s.type != "unix" || !s.chroot) continue;
    if (s.name == "proxymap") {
      jails.read = queue_dir;
      jails.owner_read = JailOwner::Master;
    }
    if (s.name == "proxywrite") {
      jails.write = queue_dir;
      jails.owner_write = JailOwner::Master;
    }
    if (s.name == "proxymap" || s.name == "proxywrite") {
      std::fprintf(out, "%s: runs chrooted to %s (master.cf line %d)\n", s.name.c_str(),
                   queue_dir.c_str(), s.line_no);
    }
  }
  return jails;
}

// mail_owner's identity, when we run as root and the daemon would drop to it.
std::optional<Credentials> mail_owner_identity(const dict::MainCf& cf,
                                               std::vector<std::string>& problems) {
  if (geteuid() != 0) return std::nullopt;
  std::string user = cf.get("mail_owner");
  std::optional<Credentials> owner = credentials_for_user(user);
  if (!owner) {
    problems.push_back(
        fmt::format("main.cf: mail_owner \"{}\" is not a known user", user));
  }
  return owner;
}

// The problems of one table: its findings, then its database hosts, each
// host probed once per identity over the whole run (probed: identity +
// host -> error).
std::vector<std::string> check_table(const std::string& table, const dict::TableEnv& env,
                                     const std::string& jail, const Credentials* owner,
                                     JailOwner jail_owner, bool forwarding,
                                     bool& unserved,
                                     std::map<std::string, std::string>& probed) {
  TableInspection in = inspect_table(table, env, jail, owner, jail_owner);
  std::vector<std::string> mine;
  for (const Finding& f : in.findings) {
    if (f.kind == FindingKind::Unsupported && forwarding) continue;  // Postfix serves it
    if (f.kind == FindingKind::Unsupported) unserved = true;
    mine.push_back(f.message);
  }
  if (!in.sql) return mine;
  const dict::ConnectParams& c = in.sql->connect;
  if (dict::driver_uses_servers(in.sql->kind)) {
    for (const dict::HostSpec& h : c.hosts) {
      std::string key = c.identity_key() + '\n' + h.text;
      auto it = probed.find(key);
      if (it == probed.end())
        it = probed.emplace(key, probe_host(c, h, kProbeTimeout)).first;
      if (!it->second.empty()) {
        mine.push_back(fmt::format("{}: cannot connect to database host {}: {}", table,
                                   h.text, it->second));
      }
    }
  }
  // The .cf password value, wherever a driver repeats it.
  for (std::string& m : mine) m = dict::redact_value(m, c.password);
  return mine;
}

// Tables used through proxy: but missing from their allowlist, as
// problems; to_add collects them per list parameter.
void check_unlisted(const dict::MainCf& cf, const dict::Allowlist& read,
                    const dict::Allowlist& write, std::vector<std::string>& problems,
                    std::map<std::string, std::vector<std::string>>& to_add) {
  for (const UnlistedTable& u : unlisted_proxy_tables(cf, read, write)) {
    std::string users;
    for (const std::string& p : u.used_by) users += (users.empty() ? "" : ", ") + p;
    problems.push_back(fmt::format("main.cf: {} uses proxy:{}, which {} does not list",
                                   users, u.table, u.list_parameter));
    to_add[u.list_parameter].push_back(u.table);
  }
}

// The closing summary; returns the exit status.
int report(const std::vector<std::string>& problems,
           const std::map<std::string, std::vector<std::string>>& to_add,
           std::size_t table_count, const std::string& config_dir, bool unserved,
           bool chroot, std::FILE* out) {
  if (problems.empty()) {
    std::fprintf(out, "all well: %zu table(s) checked, no problems\n", table_count);
    return 0;
  }
  std::fprintf(out, "\n%zu problem(s):\n", problems.size());
  for (const std::string& p : problems) {
    std::fprintf(out, "  %s\n", dict::redact_secrets(p).c_str());
  }
  if (unserved) {
    std::fprintf(
        out,
        "\nproxyd cannot serve every table type above; to have Postfix's own proxymap "
        "serve them behind proxyd, use the forwarding layout (then postfix reload):\n%s",
        forwarding_layout_lines(chroot).c_str());
  }
  for (const auto& [param, tables] : to_add) {
    std::fprintf(out, "\nto approve the tables missing from %s, run:\n  %s\n",
                 param.c_str(), approve_command(param, tables, config_dir).c_str());
  }
  return 1;
}

}  // namespace

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
  Settings settings;  // defaults when proxyd.cf is unreadable (reported)
  try {
    settings = load_settings(config_dir, log);
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }
  const Jails jails = find_jails(*cf, settings.chroot, out);
  const std::optional<Credentials> owner = mail_owner_identity(*cf, problems);

  dict::TableEnv env;
  env.main_cf = &*cf;
  env.log = &log;
  env.postfix_version =
      follow_postfix_release(settings.postfix_version, *cf, config_dir, log);
  dict::Allowlist read = dict::Allowlist::build(*cf, true, log);
  dict::Allowlist write = dict::Allowlist::build(*cf, false, log);
  std::map<std::string, std::string> probed;
  bool unserved = false;  // a table proxyd cannot serve, without forwarding
  std::size_t table_count = 0;
  for (const auto* list : {&read, &write}) {
    const bool is_read = list == &read;
    for (const std::string& table : list->tables()) {
      ++table_count;
      std::vector<std::string> mine = check_table(
          table, env, is_read ? jails.read : jails.write, owner ? &*owner : nullptr,
          is_read ? jails.owner_read : jails.owner_write, jails.forwarding, unserved,
          probed);
      std::fprintf(out, "%-8s %-17s %s\n", mine.empty() ? "ok" : "PROBLEM",
                   list->parameter().c_str(), dict::redact_secrets(table).c_str());
      problems.insert(problems.end(), mine.begin(), mine.end());
    }
  }
  std::map<std::string, std::vector<std::string>> to_add;  // list parameter -> tables
  check_unlisted(*cf, read, write, problems, to_add);
  return report(problems, to_add, table_count, config_dir, unserved, !jails.read.empty(),
                out);
}

}  // namespace proxyd::daemon
