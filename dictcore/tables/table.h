// The table interface every lookup table implements (static:, inline:,
// texthash:, sqlite:, mysql:, pgsql:, surrogates), and its one outcome type.
// Operations complete through a callback that always runs on the event-loop
// thread, possibly before the call returns (in-memory tables).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "dictcore/util/postfix_version.h"
#include "protocol/status.h"

namespace proxyd::dict {

using protocol::ProxyStatus;

class EtcDir;
class Logger;
class MainCf;
class Poster;
class PoolSet;
class Table;
struct TableEnv;

// Opens another table read-only by "type:name" (a SQL table's domain list
// may name one). The registry sets it in the TableEnv it hands a table type,
// so a table type never includes the layer above it that knows every type.
using NestedOpener = std::shared_ptr<Table> (*)(std::string_view name,
                                                const TableEnv& env);

// The single outcome of a table operation: what goes on the wire.
struct [[nodiscard]] LookupResult {
  ProxyStatus status = ProxyStatus::NoKey;
  // The answer when status is Ok (lookups). An Ok answer may be empty: a
  // table can hold an empty value, as Postfix's can.
  std::string value;
  bool operator==(const LookupResult&) const = default;
};

// Outcome of a sequence step.
struct [[nodiscard]] SeqResult {
  ProxyStatus status = ProxyStatus::NoKey;
  std::string key;
  std::string value;
};

using LookupDone = std::function<void(LookupResult)>;
using SeqDone = std::function<void(SeqResult)>;

// How the table was opened: proxymap (read-only) or proxywrite (read-write).
enum class OpenMode { ReadOnly, ReadWrite };

// What a table needs from its surroundings. All pointers outlive the tables.
struct TableEnv {
  const MainCf* main_cf = nullptr;
  Logger* log = nullptr;
  Poster* poster = nullptr;  // completions from worker threads
  PoolSet* pools = nullptr;  // shared SQL session pools
  // /etc kept from start-up (unix: tables in a jail); null = NSS only.
  std::shared_ptr<const EtcDir> etc = nullptr;
  // A lookup still waiting for a session after this long is answered RETRY.
  std::chrono::milliseconds lookup_timeout{10000};
  // Whose table semantics to reproduce where Postfix releases differ.
  PostfixVersion postfix_version = PostfixVersion::newest();
  // Set by open_table(); null outside it (then "type:table" entries cannot
  // be opened).
  NestedOpener open_nested = nullptr;
};

// The instance flags Postfix daemons open tables with (mail_addr_find,
// maps_create callers): fold fixed-case keys, UTF-8 layer when enabled.
inline constexpr uint32_t kDaemonInstanceFlags =
    protocol::flags::kFoldFix | protocol::flags::kUtf8Request;

// smtputf8_enable of env's main.cf (Postfix's util_utf8_enable): whether
// non-ASCII text is case-folded with Unicode rules. On without a main.cf.
bool smtputf8_enabled(const TableEnv& env);

class Table {
 public:
  virtual ~Table() = default;

  // Implementation bits reported in open replies (FIXED, PATTERN, MULTI_WRITER).
  virtual uint32_t impl_flags() const = 0;

  // Look up key. flags are the effective request flags (FOLD_FIX, UTF8_ACTIVE...).
  virtual void lookup(const std::string& key, uint32_t flags, LookupDone done) = 0;

  // Store key=value (proxywrite). Default: CONFIG, "not supported".
  virtual void update(const std::string& key, const std::string& value, uint32_t flags,
                      LookupDone done);

  // Remove key (proxywrite). Default: CONFIG, "not supported".
  virtual void remove(const std::string& key, uint32_t flags, LookupDone done);

  // First (function 0) or next (1) entry. Default: CONFIG, "not supported".
  virtual void sequence(uint32_t function, uint32_t flags, SeqDone done);

  // The answer to a lookup whose key, at least key_bytes long, was too long
  // to keep (proxyd read and dropped it): what the direct lookup gives every
  // such key, where that does not depend on the key (static: its value; a
  // table whose keys are all far shorter: not found). Default: RETRY, the
  // answer depends on the key. Synchronous.
  virtual LookupResult answer_any_key(std::size_t key_bytes, uint32_t flags);

  // "type:name" as opened, for logs.
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  std::string name_;
};

using TablePtr = std::shared_ptr<Table>;

}  // namespace proxyd::dict
