// `proxyd -c DIR check`: lists the tables approved by proxy_read_maps and
// proxy_write_maps, inspects each (preflight.h), tries every database host,
// reads master.cf to learn whether the proxymap/proxywrite services run
// chrooted (master(8) chroot column, Postfix 3.x default for "-"), and finds
// proxy: tables that main.cf uses but does not approve, printing the
// postconf command that approves them. Control path; runs once and exits.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dictcore/config/allowlist.h"
#include "dictcore/config/main_cf.h"
#include "dictcore/pool/session.h"

namespace proxyd::daemon {

// One service line of master.cf, as far as check needs it.
struct MasterService {
  std::string name;     // first column ("proxymap")
  std::string type;     // second column ("unix")
  bool chroot = false;  // fifth column, "-" resolved to the default
  int line_no = 0;      // first physical line of the entry
};

// master(8)'s default for a "-" chroot column: y below compatibility level
// 1, n from level 1 on (Postfix 3.0+; master_ent.c).
bool chroot_default(std::string_view compatibility_level);

// Parse master.cf text as master(8) reads it (readllines(): comment and
// blank lines skipped, lines starting with white space continue the previous
// entry, a first line starting with white space skipped); entries with fewer
// than eight fields ignored.
std::vector<MasterService> parse_master_cf(std::string_view text, bool chroot_dash);

// The main.cf parameters whose proxy: tables Postfix opens for writing
// through proxywrite (the parameters in proxy_write_maps' default).
const std::vector<std::string_view>& write_map_parameters();

// A proxy: table that main.cf uses but the matching allowlist lacks.
struct UnlistedTable {
  std::string table;                 // "type:name", proxy: stripped
  std::string list_parameter;        // "proxy_read_maps" or "proxy_write_maps"
  std::vector<std::string> used_by;  // main.cf parameters naming it
};

// Scan main.cf parameters (expanded) for proxy:type:name tables, descending
// into { } groups and unionmap:/pipemap: lists, and return those the read
// (or, for write_map_parameters(), write) allowlist lacks. Parameters left
// at a default without a literal "proxy:" are skipped (they only repeat
// another parameter's tables through $name).
std::vector<UnlistedTable> unlisted_proxy_tables(const dict::MainCf& main_cf,
                                                 const dict::Allowlist& read,
                                                 const dict::Allowlist& write);

// The shell command that appends tables to list_parameter in main.cf,
// keeping its current value (a self-reference "$proxy_read_maps" in
// main.cf would be a macro loop). "-c DIR" is added unless config_dir is
// /etc/postfix.
std::string approve_command(std::string_view list_parameter,
                            const std::vector<std::string>& tables,
                            const std::string& config_dir);

// Connect to one database host and close the session again; "" on success,
// else the driver's error (password removed). Gives up after timeout.
std::string probe_host(const dict::ConnectParams& params, const dict::HostSpec& host,
                       std::chrono::seconds timeout);

// Run the whole check and print the report to out. Returns 0 when all is
// well, 1 when anything is wrong.
int run_check(const std::string& config_dir,
              const std::vector<std::pair<std::string, std::string>>& overrides,
              bool verbose, std::FILE* out);

}  // namespace proxyd::daemon
