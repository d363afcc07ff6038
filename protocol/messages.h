// Typed proxymap requests and replies in both Postfix client layouts:
// v1 (Postfix 3.6 .. 3.10: table, flags) and v2 (3.11+: table,
// instance_flags, flags; replies carry flags). Parsing follows proxymap's
// strict attribute order; encoding produces the exact reply layout.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/attr_codec.h"
#include "protocol/status.h"

namespace proxyd::protocol {

// Wire attribute names (MAIL_ATTR_* in Postfix's mail_proto.h).
// clang-format off
inline constexpr std::string_view kAttrRequest = "request";         // MAIL_ATTR_REQ
inline constexpr std::string_view kAttrTable = "table";             // MAIL_ATTR_TABLE
inline constexpr std::string_view kAttrFlags = "flags";             // MAIL_ATTR_FLAGS
inline constexpr std::string_view kAttrInstFlags = "instance_flags";  // MAIL_ATTR_INST_FLAGS
inline constexpr std::string_view kAttrKey = "key";                 // MAIL_ATTR_KEY
inline constexpr std::string_view kAttrValue = "value";             // MAIL_ATTR_VALUE
inline constexpr std::string_view kAttrFunc = "function";           // MAIL_ATTR_FUNC
inline constexpr std::string_view kAttrStatus = "status";           // MAIL_ATTR_STATUS
inline constexpr std::string_view kAttrProto = "protocol";          // MAIL_ATTR_PROTO
inline constexpr std::string_view kProtoProxymap = "proxymap_protocol";  // MAIL_ATTR_PROTO_PROXYMAP
// clang-format on

// Request names (PROXY_REQ_*).
inline constexpr std::string_view kReqOpen = "open";
inline constexpr std::string_view kReqLookup = "lookup";
inline constexpr std::string_view kReqUpdate = "update";
inline constexpr std::string_view kReqDelete = "delete";
inline constexpr std::string_view kReqSequence = "sequence";

// sequence function codes (DICT_SEQ_FUN_*).
inline constexpr uint32_t kSeqFirst = 0;
inline constexpr uint32_t kSeqNext = 1;

// Client layout of a request; replies use the same layout.
enum class Dialect {
  V1,  // Postfix 3.6 .. 3.10: "flags" after "table"
  V2,  // Postfix 3.11+: "instance_flags" after "table", flags in replies
};

enum class RequestType { Open, Lookup, Update, Delete, Sequence };

// Name of a request type as on the wire ("open", "lookup", ...).
std::string_view request_name(RequestType type);

// One decoded request. Fields not used by the type stay empty/zero.
struct Request {
  RequestType type = RequestType::Lookup;
  Dialect dialect = Dialect::V1;
  std::string table;
  uint32_t instance_flags = 0;  // v2 only
  uint32_t flags = 0;           // v1: open/request flags; v2: request flags (not on open)
  std::string key;              // lookup, update, delete
  std::string value;            // update
  uint32_t function = 0;        // sequence
  bool operator==(const Request&) const = default;
};

// How parse_request() classified a message.
enum class ParseKind {
  Ok,           // request is complete and valid
  Bad,          // known request, bad attributes: reply BAD in request.type/dialect layout
  Unknown,      // unknown request name: reply with the single attribute status=3
  NotARequest,  // first attribute is not "request" (Postfix sends no reply)
};

struct ParseResult {
  ParseKind kind = ParseKind::Ok;
  Request request;                 // Ok: the request; Bad: type and dialect for the reply
  std::string error;               // reason, for the log (Bad/Unknown/NotARequest)
  std::vector<std::string> extra;  // names of tolerated trailing attributes (Ok)
};

// Classify and decode one message as proxymap does (strict order, trailing
// extras tolerated, Postfix number syntax). Dialect is V2 when "table" is
// followed by "instance_flags", else V1 (also when undecidable). A sequence
// function other than 0/1 is Bad, as in proxymap. Error texts are log-safe.
ParseResult parse_request(const AttrList& attrs);

// A reply; which fields go on the wire depends on type and dialect.
struct Reply {
  ProxyStatus status = ProxyStatus::Ok;
  uint32_t flags = 0;  // open (both dialects); every v2 reply
  std::string key;     // sequence
  std::string value;   // lookup, sequence
  bool operator==(const Reply&) const = default;
};

// Encode a reply in the layout of (type, dialect), terminator included.
std::string encode_reply(RequestType type, Dialect dialect, const Reply& reply);

// Encode the reply to an unknown request: just "status".
std::string encode_status_only(ProxyStatus status);

// The server greeting: protocol=proxymap_protocol.
std::string encode_greeting();

// Client side: encode a request in its dialect's layout.
std::string encode_request(const Request& request);

// Client side: decode a reply to a request of (type, dialect). Returns false
// and sets error when the layout does not match (missing, misordered or
// malformed attribute). Like a Postfix client (attr_scan0, ATTR_FLAG_STRICT)
// it tolerates extra attributes after the last expected one.
bool parse_reply(RequestType type, Dialect dialect, const AttrList& attrs, Reply& reply,
                 std::string& error);

}  // namespace proxyd::protocol
