// ConnectParams: the database identity key that pools are shared by, and
// the password-free label used in messages. Declared in session.h.
#include <fmt/format.h>

#include "dictcore/pool/session.h"
#include "dictcore/util/redact.h"

namespace proxyd::dict {

std::string_view sql_kind_name(SqlKind kind) {
  switch (kind) {
    case SqlKind::Sqlite:
      return "sqlite";
    case SqlKind::Mysql:
      return "mysql";
    case SqlKind::Pgsql:
      return "pgsql";
  }
  return "sql";
}

std::string ConnectParams::identity_key() const {
  std::string key(sql_kind_name(kind));
  auto add = [&key](std::string_view part) {
    key.push_back('\0');
    key.append(part);
  };
  auto add_opt = [&](const std::optional<std::string>& part) {
    add(part ? "1" + *part : std::string("0"));
  };
  for (const HostSpec& h : hosts) add(h.kind == HostKind::Uri ? h.name : h.text);
  add("|");
  add(user);
  add(password);
  add(dbname);
  add(charset);
  add(encoding);
  add_opt(option_file);
  add(option_group);
  add_opt(tls_key_file);
  add_opt(tls_cert_file);
  add_opt(tls_CAfile);
  add_opt(tls_CApath);
  add_opt(tls_ciphers);
  add(tls_verify_cert ? (*tls_verify_cert ? "y" : "n") : "-");
  add(std::to_string(retry_interval.count()));
  add(std::to_string(idle_interval.count()));
  add(duplicate_single_host ? "dup" : "single");
  return key;
}

std::string ConnectParams::label() const {
  std::string hosts_text;
  for (const HostSpec& h : hosts) {
    if (!hosts_text.empty()) hosts_text.push_back(',');
    hosts_text += h.text;
  }
  if (kind == SqlKind::Sqlite) return fmt::format("sqlite:{}", hosts_text);
  // dbname may be a conninfo string with a password in it.
  return redact_secrets(
      fmt::format("{}:{}@{} user={}", sql_kind_name(kind), dbname, hosts_text, user));
}

}  // namespace proxyd::dict
