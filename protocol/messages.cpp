// proxymap(8) request classification and reply layouts for both client
// dialects: v1 (Postfix 3.6 .. 3.10, "flags" after "table") and v2 (3.11+,
// "instance_flags" after "table", flags in every reply). Parsing mirrors
// proxymap's attr_scan calls with ATTR_FLAG_STRICT: attributes in exact
// order, missing/misordered/inserted ones are BAD, trailing extras after the
// last expected one are tolerated. Pure functions; any thread.
#include "protocol/messages.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <span>

namespace proxyd::protocol {

namespace {

// Which Request member an expected attribute fills.
enum class Slot { Table, InstFlags, Flags, Key, Value, Function };

struct Field {
  std::string_view name;
  Slot slot;
  bool numeric;
};

constexpr Field kTable{kAttrTable, Slot::Table, false};
constexpr Field kInst{kAttrInstFlags, Slot::InstFlags, true};
constexpr Field kFlags{kAttrFlags, Slot::Flags, true};
constexpr Field kKey{kAttrKey, Slot::Key, false};
constexpr Field kValue{kAttrValue, Slot::Value, false};
constexpr Field kFunc{kAttrFunc, Slot::Function, true};

// Attributes after "request", per proxymap.c of 3.7 (v1) and 3.11 (v2).
constexpr std::array<Field, 2> kV1Open{kTable, kFlags};
constexpr std::array<Field, 3> kV1Lookup{kTable, kFlags, kKey};
constexpr std::array<Field, 4> kV1Update{kTable, kFlags, kKey, kValue};
constexpr std::array<Field, 3> kV1Delete{kTable, kFlags, kKey};
constexpr std::array<Field, 3> kV1Sequence{kTable, kFlags, kFunc};
constexpr std::array<Field, 2> kV2Open{kTable, kInst};
constexpr std::array<Field, 4> kV2Lookup{kTable, kInst, kFlags, kKey};
constexpr std::array<Field, 5> kV2Update{kTable, kInst, kFlags, kKey, kValue};
constexpr std::array<Field, 4> kV2Delete{kTable, kInst, kFlags, kKey};
constexpr std::array<Field, 4> kV2Sequence{kTable, kInst, kFlags, kFunc};

std::span<const Field> request_layout(RequestType type, Dialect dialect) {
  const bool v1 = dialect == Dialect::V1;
  switch (type) {
    case RequestType::Open:
      return v1 ? std::span<const Field>(kV1Open) : std::span<const Field>(kV2Open);
    case RequestType::Lookup:
      return v1 ? std::span<const Field>(kV1Lookup) : std::span<const Field>(kV2Lookup);
    case RequestType::Update:
      return v1 ? std::span<const Field>(kV1Update) : std::span<const Field>(kV2Update);
    case RequestType::Delete:
      return v1 ? std::span<const Field>(kV1Delete) : std::span<const Field>(kV2Delete);
    case RequestType::Sequence:
      return v1 ? std::span<const Field>(kV1Sequence)
                : std::span<const Field>(kV2Sequence);
  }
  return {};
}

std::optional<RequestType> request_type_from(std::string_view name) {
  if (name == kReqOpen) return RequestType::Open;
  if (name == kReqLookup) return RequestType::Lookup;
  if (name == kReqUpdate) return RequestType::Update;
  if (name == kReqDelete) return RequestType::Delete;
  if (name == kReqSequence) return RequestType::Sequence;
  return std::nullopt;
}

// Reply attributes after "status", per dict_proxy.c of 3.7 (v1) and 3.11 (v2).
enum class ReplyField { Flags, Key, Value };

constexpr std::array<ReplyField, 1> kReplyFlags{ReplyField::Flags};
constexpr std::array<ReplyField, 1> kReplyValue{ReplyField::Value};
constexpr std::array<ReplyField, 2> kReplyKeyValue{ReplyField::Key, ReplyField::Value};
constexpr std::array<ReplyField, 2> kReplyFlagsValue{ReplyField::Flags,
                                                     ReplyField::Value};
constexpr std::array<ReplyField, 3> kReplyFlagsKeyValue{
    ReplyField::Flags, ReplyField::Key, ReplyField::Value};

std::span<const ReplyField> reply_layout(RequestType type, Dialect dialect) {
  const bool v1 = dialect == Dialect::V1;
  switch (type) {
    case RequestType::Open:
      return kReplyFlags;
    case RequestType::Lookup:
      return v1 ? std::span<const ReplyField>(kReplyValue)
                : std::span<const ReplyField>(kReplyFlagsValue);
    case RequestType::Update:
    case RequestType::Delete:
      return v1 ? std::span<const ReplyField>()
                : std::span<const ReplyField>(kReplyFlags);
    case RequestType::Sequence:
      return v1 ? std::span<const ReplyField>(kReplyKeyValue)
                : std::span<const ReplyField>(kReplyFlagsKeyValue);
  }
  return {};
}

std::string_view reply_field_name(ReplyField field) {
  switch (field) {
    case ReplyField::Flags:
      return kAttrFlags;
    case ReplyField::Key:
      return kAttrKey;
    case ReplyField::Value:
      return kAttrValue;
  }
  return {};
}

void append_uint(std::string& out, std::string_view name, uint32_t value) {
  append_attr(out, name, fmt::format("{}", value));
}

ParseResult bad(ParseResult result, std::string error) {
  result.kind = ParseKind::Bad;
  result.error = std::move(error);
  return result;
}

}  // namespace

std::string_view request_name(RequestType type) {
  switch (type) {
    case RequestType::Open:
      return kReqOpen;
    case RequestType::Lookup:
      return kReqLookup;
    case RequestType::Update:
      return kReqUpdate;
    case RequestType::Delete:
      return kReqDelete;
    case RequestType::Sequence:
      return kReqSequence;
  }
  return "unknown";
}

ParseResult parse_request(const AttrList& attrs) {
  ParseResult result;
  if (attrs.empty()) {
    result.kind = ParseKind::NotARequest;
    result.error = "empty attribute list";
    return result;
  }
  if (attrs[0].name != kAttrRequest) {
    result.kind = ParseKind::NotARequest;
    result.error = fmt::format("unexpected attribute {} (expecting: {})",
                               printable(attrs[0].name), kAttrRequest);
    return result;
  }
  const auto type = request_type_from(attrs[0].value);
  if (!type) {
    result.kind = ParseKind::Unknown;
    result.error =
        fmt::format("unrecognized request: \"{}\", ignored", printable(attrs[0].value));
    return result;
  }
  Request& request = result.request;
  request.type = *type;
  // The attribute after "table" tells the dialect; undecidable -> v1.
  request.dialect =
      attrs.size() > 2 && attrs[1].name == kAttrTable && attrs[2].name == kAttrInstFlags
          ? Dialect::V2
          : Dialect::V1;
  const auto layout = request_layout(request.type, request.dialect);
  std::size_t index = 1;
  for (const Field& field : layout) {
    if (index >= attrs.size()) {
      return bad(std::move(result), fmt::format("{} request: missing attribute {}",
                                                request_name(request.type), field.name));
    }
    const Attr& attr = attrs[index++];
    if (attr.name != field.name) {
      return bad(
          std::move(result),
          fmt::format("{} request: unexpected attribute {} (expecting: {})",
                      request_name(request.type), printable(attr.name), field.name));
    }
    uint32_t number = 0;
    if (field.numeric && !parse_postfix_uint(attr.value, number)) {
      return bad(
          std::move(result),
          fmt::format("{} request: malformed numerical data in {}: {}",
                      request_name(request.type), field.name, printable(attr.value)));
    }
    switch (field.slot) {
      case Slot::Table:
        request.table = attr.value;
        break;
      case Slot::InstFlags:
        request.instance_flags = number;
        break;
      case Slot::Flags:
        request.flags = number;
        break;
      case Slot::Key:
        request.key = attr.value;
        break;
      case Slot::Value:
        request.value = attr.value;
        break;
      case Slot::Function:
        request.function = number;
        break;
    }
  }
  // proxymap rejects an unknown sequence function in the same test as a
  // failed attribute scan (reply BAD with empty key and value).
  if (request.type == RequestType::Sequence && request.function != kSeqFirst &&
      request.function != kSeqNext) {
    return bad(std::move(result),
               fmt::format("sequence request: bad function {}", request.function));
  }
  for (; index < attrs.size(); ++index) result.extra.push_back(attrs[index].name);
  return result;
}

std::string encode_reply(RequestType type, Dialect dialect, const Reply& reply) {
  std::string out;
  append_uint(out, kAttrStatus, static_cast<uint32_t>(reply.status));
  for (ReplyField field : reply_layout(type, dialect)) {
    switch (field) {
      case ReplyField::Flags:
        append_uint(out, kAttrFlags, reply.flags);
        break;
      case ReplyField::Key:
        append_attr(out, kAttrKey, reply.key);
        break;
      case ReplyField::Value:
        append_attr(out, kAttrValue, reply.value);
        break;
    }
  }
  append_terminator(out);
  return out;
}

std::string encode_status_only(ProxyStatus status) {
  std::string out;
  append_uint(out, kAttrStatus, static_cast<uint32_t>(status));
  append_terminator(out);
  return out;
}

std::string encode_greeting() {
  std::string out;
  append_attr(out, kAttrProto, kProtoProxymap);
  append_terminator(out);
  return out;
}

std::string encode_request(const Request& request) {
  std::string out;
  append_attr(out, kAttrRequest, request_name(request.type));
  for (const Field& field : request_layout(request.type, request.dialect)) {
    switch (field.slot) {
      case Slot::Table:
        append_attr(out, field.name, request.table);
        break;
      case Slot::InstFlags:
        append_uint(out, field.name, request.instance_flags);
        break;
      case Slot::Flags:
        append_uint(out, field.name, request.flags);
        break;
      case Slot::Key:
        append_attr(out, field.name, request.key);
        break;
      case Slot::Value:
        append_attr(out, field.name, request.value);
        break;
      case Slot::Function:
        append_uint(out, field.name, request.function);
        break;
    }
  }
  append_terminator(out);
  return out;
}

bool parse_reply(RequestType type, Dialect dialect, const AttrList& attrs, Reply& reply,
                 std::string& error) {
  reply = Reply{};
  error.clear();
  std::size_t index = 0;
  // Each step: the next attribute must be `name`; false on a mismatch.
  auto take = [&](std::string_view name) -> const Attr* {
    if (index >= attrs.size()) {
      error = fmt::format("missing attribute {}", name);
      return nullptr;
    }
    const Attr& attr = attrs[index++];
    if (attr.name != name) {
      error = fmt::format("unexpected attribute {} (expecting: {})", printable(attr.name),
                          name);
      return nullptr;
    }
    return &attr;
  };
  auto number = [&](const Attr& attr, uint32_t& out) {
    if (parse_postfix_uint(attr.value, out)) return true;
    error = fmt::format("malformed numerical data in {}: {}", attr.name,
                        printable(attr.value));
    return false;
  };
  const Attr* status = take(kAttrStatus);
  uint32_t status_value = 0;
  if (status == nullptr || !number(*status, status_value)) return false;
  reply.status = static_cast<ProxyStatus>(status_value);
  for (ReplyField field : reply_layout(type, dialect)) {
    const Attr* attr = take(reply_field_name(field));
    if (attr == nullptr) return false;
    switch (field) {
      case ReplyField::Flags:
        if (!number(*attr, reply.flags)) return false;
        break;
      case ReplyField::Key:
        reply.key = attr->value;
        break;
      case ReplyField::Value:
        reply.value = attr->value;
        break;
    }
  }
  // Like attr_scan0 with ATTR_FLAG_STRICT, attributes after the last expected
  // one are tolerated (Postfix logs them and still counts the reply as good).
  return true;
}

}  // namespace proxyd::protocol
