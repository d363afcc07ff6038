// Tests for proxymap request parsing and reply/request layouts in both
// dialects: SPEC Appendix A (v1, verified against Postfix 3.7.11) and
// Appendix B (v2, Postfix HEAD) byte strings, requests captured from the
// installed postmap 3.7.11, table-driven parse_request cases mirroring
// proxymap.c's strict attr_scan calls, and the client-side parse_reply.
#include "protocol/messages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/status.h"

namespace proxyd::protocol {
namespace {

using namespace std::string_literals;

// Decode exactly one whole message (test input is trusted to be one).
AttrList decode_one(const std::string& wire) {
  AttrDecoder decoder;
  decoder.feed(wire);
  AttrList message;
  EXPECT_EQ(decoder.next(message), DecodeStatus::Complete);
  EXPECT_EQ(decoder.buffered(), 0u);
  return message;
}

Request make(RequestType type, Dialect dialect, std::string table, uint32_t inst,
             uint32_t flags, std::string key = "", std::string value = "",
             uint32_t function = 0) {
  Request r;
  r.type = type;
  r.dialect = dialect;
  r.table = std::move(table);
  r.instance_flags = inst;
  r.flags = flags;
  r.key = std::move(key);
  r.value = std::move(value);
  r.function = function;
  return r;
}

Reply reply_of(ProxyStatus status, uint32_t flags = 0, std::string key = "",
               std::string value = "") {
  return Reply{status, flags, std::move(key), std::move(value)};
}

const std::string kCf = "mysql:/etc/postfix/valiases.cf";
const std::string kRows = "user0@example0.org,user1@example0.org";

// SPEC Appendix A: v1 strings as produced/accepted by Postfix 3.7.11.
TEST(AppendixA, V1ByteStrings) {
  EXPECT_EQ(encode_greeting(), "protocol\0proxymap_protocol\0\0"s);
  EXPECT_EQ(encode_request(make(RequestType::Open, Dialect::V1, kCf, 0, 0)),
            "request\0open\0table\0mysql:/etc/postfix/valiases.cf\0flags\0000\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Open, Dialect::V1, reply_of(ProxyStatus::Ok, 16)),
            "status\0000\0flags\00016\0\0"s);
  EXPECT_EQ(encode_request(make(RequestType::Lookup, Dialect::V1, kCf, 0, 524353,
                                "alias0@example0.org")),
            "request\0lookup\0table\0mysql:/etc/postfix/valiases.cf\0flags\000524353\0"
            "key\0alias0@example0.org\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Lookup, Dialect::V1,
                         reply_of(ProxyStatus::Ok, 0, "", kRows)),
            "status\0000\0value\0user0@example0.org,user1@example0.org\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Lookup, Dialect::V1, reply_of(ProxyStatus::NoKey)),
            "status\0001\0value\0\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Lookup, Dialect::V1, reply_of(ProxyStatus::Deny)),
            "status\0004\0value\0\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Open, Dialect::V1, reply_of(ProxyStatus::Deny)),
            "status\0004\0flags\0000\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Open, Dialect::V1, reply_of(ProxyStatus::Bad)),
            "status\0003\0flags\0000\0\0"s);
  EXPECT_EQ(encode_status_only(ProxyStatus::Bad), "status\0003\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Update, Dialect::V1, reply_of(ProxyStatus::Deny)),
            "status\0004\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Sequence, Dialect::V1, reply_of(ProxyStatus::Bad)),
            "status\0003\0key\0\0value\0\0\0"s);
}

// SPEC Appendix B: v2 strings from a Postfix HEAD build.
TEST(AppendixB, V2ByteStrings) {
  EXPECT_EQ(encode_request(make(RequestType::Open, Dialect::V2, kCf, 540737, 0)),
            "request\0open\0table\0mysql:/etc/postfix/valiases.cf\0"
            "instance_flags\000540737\0\0"s);
  EXPECT_EQ(
      encode_reply(RequestType::Open, Dialect::V2, reply_of(ProxyStatus::Ok, 1589329)),
      "status\0000\0flags\0001589329\0\0"s);
  EXPECT_EQ(encode_request(make(RequestType::Lookup, Dialect::V2, kCf, 540737, 1589329,
                                "alias0@example0.org")),
            "request\0lookup\0table\0mysql:/etc/postfix/valiases.cf\0"
            "instance_flags\000540737\0flags\0001589329\0key\0alias0@example0.org\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Lookup, Dialect::V2,
                         reply_of(ProxyStatus::Ok, 1589329, "", kRows)),
            "status\0000\0flags\0001589329\0"
            "value\0user0@example0.org,user1@example0.org\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Lookup, Dialect::V2,
                         reply_of(ProxyStatus::NoKey, 1589329)),
            "status\0001\0flags\0001589329\0value\0\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Lookup, Dialect::V2, reply_of(ProxyStatus::Deny)),
            "status\0004\0flags\0000\0value\0\0\0"s);
  EXPECT_EQ(encode_reply(RequestType::Open, Dialect::V2, reply_of(ProxyStatus::Bad)),
            "status\0003\0flags\0000\0\0"s);
  EXPECT_EQ(encode_status_only(ProxyStatus::Bad), "status\0003\0\0"s);
}

// Reply layouts of every request type (proxymap.c attr_print calls, 3.7/3.11).
TEST(EncodeReply, EveryLayout) {
  const Reply r = reply_of(ProxyStatus::Ok, 7, "k", "v");
  struct Case {
    RequestType type;
    Dialect dialect;
    std::string want;
  };
  const Case cases[] = {
      {RequestType::Open, Dialect::V1, "status\0000\0flags\0007\0\0"s},
      {RequestType::Lookup, Dialect::V1, "status\0000\0value\0v\0\0"s},
      {RequestType::Update, Dialect::V1, "status\0000\0\0"s},
      {RequestType::Delete, Dialect::V1, "status\0000\0\0"s},
      {RequestType::Sequence, Dialect::V1, "status\0000\0key\0k\0value\0v\0\0"s},
      {RequestType::Open, Dialect::V2, "status\0000\0flags\0007\0\0"s},
      {RequestType::Lookup, Dialect::V2, "status\0000\0flags\0007\0value\0v\0\0"s},
      {RequestType::Update, Dialect::V2, "status\0000\0flags\0007\0\0"s},
      {RequestType::Delete, Dialect::V2, "status\0000\0flags\0007\0\0"s},
      {RequestType::Sequence, Dialect::V2,
       "status\0000\0flags\0007\0key\0k\0value\0v\0\0"s},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(encode_reply(c.type, c.dialect, r), c.want)
        << request_name(c.type) << (c.dialect == Dialect::V1 ? " v1" : " v2");
  }
  // Integers are unsigned decimal.
  EXPECT_EQ(encode_reply(RequestType::Open, Dialect::V1,
                         reply_of(ProxyStatus::Ok, 0xffffffffu)),
            "status\0000\0flags\0004294967295\0\0"s);
}

// Bytes captured from the installed Postfix 3.7.11 with a fake proxymap
// socket at $queue_directory/private/proxymap (scratch main.cf with
// compatibility_level = 3.6 and queue_directory):
//   postmap -c DIR -q Foo@Example.COM 'proxy:inline:{a=b}'
// (same with smtputf8_enable = no, and postmap -d via private/proxywrite).
// They match SPEC 3.2: open flags 0; lookup flags 524353 with the key
// folded by the client, or 540737 (FOLD_FIX kept) and the raw key.
struct CapturedCase {
  const char* name;
  std::string wire;
  std::vector<Request> want;
};

TEST(Captured37, PostmapRequestsParseAndReencodeExactly) {
  const std::string table = "inline:{a=b}";
  const std::string open = "request\0open\0table\0inline:{a=b}\0flags\0000\0\0"s;
  const CapturedCase cases[] = {
      {"query_smtputf8",
       open + "request\0lookup\0table\0inline:{a=b}\0flags\000524353\0"
              "key\0foo@example.com\0\0"s,
       {make(RequestType::Open, Dialect::V1, table, 0, 0),
        make(RequestType::Lookup, Dialect::V1, table, 0, 524353, "foo@example.com")}},
      {"query_no_smtputf8",
       open + "request\0lookup\0table\0inline:{a=b}\0flags\000540737\0"
              "key\0Foo@Example.COM\0\0"s,
       {make(RequestType::Open, Dialect::V1, table, 0, 0),
        make(RequestType::Lookup, Dialect::V1, table, 0, 540737, "Foo@Example.COM")}},
      {"delete_smtputf8",
       open + "request\0delete\0table\0inline:{a=b}\0flags\000524353\0"
              "key\0foo@example.com\0\0"s,
       {make(RequestType::Open, Dialect::V1, table, 0, 0),
        make(RequestType::Delete, Dialect::V1, table, 0, 524353, "foo@example.com")}},
  };
  for (const auto& c : cases) {
    AttrDecoder decoder;
    decoder.feed(c.wire);
    std::vector<Request> got;
    std::string reencoded;
    AttrList message;
    while (decoder.next(message) == DecodeStatus::Complete) {
      const ParseResult parsed = parse_request(message);
      ASSERT_EQ(parsed.kind, ParseKind::Ok) << c.name << ": " << parsed.error;
      EXPECT_TRUE(parsed.extra.empty());
      got.push_back(parsed.request);
      reencoded += encode_request(parsed.request);
    }
    EXPECT_EQ(got, c.want) << c.name;
    EXPECT_EQ(reencoded, c.wire) << c.name;
  }
}

struct ParseCase {
  const char* name;
  AttrList attrs;
  ParseKind kind;
  Request want;  // Ok: whole request; Bad: type and dialect only
  std::vector<std::string> extra = {};
};

class ParseRequestTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseRequestTest, Classifies) {
  const ParseCase& c = GetParam();
  const ParseResult got = parse_request(c.attrs);
  EXPECT_EQ(got.kind, c.kind) << got.error;
  switch (c.kind) {
    case ParseKind::Ok:
      EXPECT_EQ(got.request, c.want);
      EXPECT_EQ(got.extra, c.extra);
      EXPECT_TRUE(got.error.empty()) << got.error;
      break;
    case ParseKind::Bad:
      EXPECT_EQ(got.request.type, c.want.type);
      EXPECT_EQ(got.request.dialect, c.want.dialect);
      EXPECT_FALSE(got.error.empty());
      break;
    case ParseKind::Unknown:
    case ParseKind::NotARequest:
      EXPECT_FALSE(got.error.empty());
      break;
  }
}

constexpr auto O = RequestType::Open;
constexpr auto L = RequestType::Lookup;
constexpr auto U = RequestType::Update;
constexpr auto D = RequestType::Delete;
constexpr auto S = RequestType::Sequence;
constexpr auto V1 = Dialect::V1;
constexpr auto V2 = Dialect::V2;

const ParseCase kParseCases[] = {
    // Every request type, v1 (proxymap.c 3.7) ...
    {"v1_open",
     {{"request", "open"}, {"table", "t:x"}, {"flags", "0"}},
     ParseKind::Ok,
     make(O, V1, "t:x", 0, 0)},
    {"v1_lookup",
     {{"request", "lookup"}, {"table", "t:x"}, {"flags", "524353"}, {"key", "k"}},
     ParseKind::Ok,
     make(L, V1, "t:x", 0, 524353, "k")},
    {"v1_update",
     {{"request", "update"},
      {"table", "t:x"},
      {"flags", "1"},
      {"key", "k"},
      {"value", "v"}},
     ParseKind::Ok,
     make(U, V1, "t:x", 0, 1, "k", "v")},
    {"v1_delete",
     {{"request", "delete"}, {"table", "t:x"}, {"flags", "2"}, {"key", "k"}},
     ParseKind::Ok,
     make(D, V1, "t:x", 0, 2, "k")},
    {"v1_sequence_first",
     {{"request", "sequence"}, {"table", "t:x"}, {"flags", "3"}, {"function", "0"}},
     ParseKind::Ok,
     make(S, V1, "t:x", 0, 3, "", "", 0)},
    {"v1_sequence_next",
     {{"request", "sequence"}, {"table", "t:x"}, {"flags", "3"}, {"function", "1"}},
     ParseKind::Ok,
     make(S, V1, "t:x", 0, 3, "", "", 1)},
    // ... and v2 (proxymap.c 3.11).
    {"v2_open",
     {{"request", "open"}, {"table", "t:x"}, {"instance_flags", "540737"}},
     ParseKind::Ok,
     make(O, V2, "t:x", 540737, 0)},
    {"v2_lookup",
     {{"request", "lookup"},
      {"table", "t:x"},
      {"instance_flags", "540737"},
      {"flags", "1589329"},
      {"key", "k"}},
     ParseKind::Ok,
     make(L, V2, "t:x", 540737, 1589329, "k")},
    {"v2_update",
     {{"request", "update"},
      {"table", "t:x"},
      {"instance_flags", "4"},
      {"flags", "5"},
      {"key", "k"},
      {"value", "v"}},
     ParseKind::Ok,
     make(U, V2, "t:x", 4, 5, "k", "v")},
    {"v2_delete",
     {{"request", "delete"},
      {"table", "t:x"},
      {"instance_flags", "4"},
      {"flags", "5"},
      {"key", "k"}},
     ParseKind::Ok,
     make(D, V2, "t:x", 4, 5, "k")},
    {"v2_sequence",
     {{"request", "sequence"},
      {"table", "t:x"},
      {"instance_flags", "4"},
      {"flags", "5"},
      {"function", "1"}},
     ParseKind::Ok,
     make(S, V2, "t:x", 4, 5, "", "", 1)},
    // Values are raw bytes.
    {"raw_bytes_kept",
     {{"request", "lookup"},
      {"table", "t:\xff"},
      {"flags", "0"},
      {"key", "\x01\xc3\x9f "}},
     ParseKind::Ok,
     make(L, V1, "t:\xff", 0, 0, "\x01\xc3\x9f ")},
    {"empty_values_ok",
     {{"request", "lookup"}, {"table", ""}, {"flags", "0"}, {"key", ""}},
     ParseKind::Ok,
     make(L, V1, "", 0, 0, "")},
    // Postfix number syntax (sscanf "%u%c").
    {"flags_space_plus",
     {{"request", "open"}, {"table", "t:x"}, {"flags", " +5"}},
     ParseKind::Ok,
     make(O, V1, "t:x", 0, 5)},
    {"flags_minus_one",
     {{"request", "lookup"}, {"table", "t:x"}, {"flags", "-1"}, {"key", "k"}},
     ParseKind::Ok,
     make(L, V1, "t:x", 0, 4294967295u, "k")},
    {"function_space_plus",
     {{"request", "sequence"}, {"table", "t:x"}, {"flags", "0"}, {"function", " +1"}},
     ParseKind::Ok,
     make(S, V1, "t:x", 0, 0, "", "", 1)},
    {"flags_junk",
     {{"request", "lookup"}, {"table", "t:x"}, {"flags", "12x"}, {"key", "k"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"flags_empty",
     {{"request", "open"}, {"table", "t:x"}, {"flags", ""}},
     ParseKind::Bad,
     make(O, V1, "", 0, 0)},
    {"flags_trailing_space",
     {{"request", "open"}, {"table", "t:x"}, {"flags", "1 "}},
     ParseKind::Bad,
     make(O, V1, "", 0, 0)},
    {"inst_flags_junk",
     {{"request", "open"}, {"table", "t:x"}, {"instance_flags", "x"}},
     ParseKind::Bad,
     make(O, V2, "", 0, 0)},
    {"v2_flags_junk",
     {{"request", "delete"},
      {"table", "t:x"},
      {"instance_flags", "0"},
      {"flags", "-"},
      {"key", "k"}},
     ParseKind::Bad,
     make(D, V2, "", 0, 0)},
    {"function_junk",
     {{"request", "sequence"}, {"table", "t:x"}, {"flags", "0"}, {"function", "first"}},
     ParseKind::Bad,
     make(S, V1, "", 0, 0)},
    // proxymap: function other than first/next -> BAD.
    {"function_out_of_range",
     {{"request", "sequence"},
      {"table", "t:x"},
      {"instance_flags", "0"},
      {"flags", "0"},
      {"function", "2"}},
     ParseKind::Bad,
     make(S, V2, "", 0, 0)},
    // Missing attributes.
    {"request_only", {{"request", "lookup"}}, ParseKind::Bad, make(L, V1, "", 0, 0)},
    {"v1_missing_key",
     {{"request", "lookup"}, {"table", "t:x"}, {"flags", "0"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"v1_update_missing_value",
     {{"request", "update"}, {"table", "t:x"}, {"flags", "0"}, {"key", "k"}},
     ParseKind::Bad,
     make(U, V1, "", 0, 0)},
    {"v2_missing_key",
     {{"request", "lookup"}, {"table", "t:x"}, {"instance_flags", "0"}, {"flags", "0"}},
     ParseKind::Bad,
     make(L, V2, "", 0, 0)},
    {"v2_missing_flags",
     {{"request", "lookup"}, {"table", "t:x"}, {"instance_flags", "0"}, {"key", "k"}},
     ParseKind::Bad,
     make(L, V2, "", 0, 0)},
    {"v2_sequence_missing_function",
     {{"request", "sequence"}, {"table", "t:x"}, {"instance_flags", "0"}, {"flags", "0"}},
     ParseKind::Bad,
     make(S, V2, "", 0, 0)},
    {"missing_table",
     {{"request", "delete"}, {"flags", "0"}, {"key", "k"}},
     ParseKind::Bad,
     make(D, V1, "", 0, 0)},
    {"open_missing_flags",
     {{"request", "open"}, {"table", "t:x"}},
     ParseKind::Bad,
     make(O, V1, "", 0, 0)},
    // Misordered and inserted attributes.
    {"misordered_v1",
     {{"request", "lookup"}, {"flags", "0"}, {"table", "t:x"}, {"key", "k"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"misordered_v2_undecidable",
     {{"request", "lookup"},
      {"instance_flags", "0"},
      {"table", "t:x"},
      {"flags", "0"},
      {"key", "k"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"misordered_key_flags",
     {{"request", "lookup"}, {"table", "t:x"}, {"key", "k"}, {"flags", "0"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"inserted_v1",
     {{"request", "lookup"}, {"table", "t:x"}, {"flags", "0"}, {"x", "1"}, {"key", "k"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"inserted_v2",
     {{"request", "update"},
      {"table", "t:x"},
      {"instance_flags", "0"},
      {"flags", "0"},
      {"key", "k"},
      {"x", ""},
      {"value", "v"}},
     ParseKind::Bad,
     make(U, V2, "", 0, 0)},
    {"v1_lookup_with_v2_flags_after",  // a v2 lookup is not v1 + extras
     {{"request", "lookup"},
      {"table", "t:x"},
      {"flags", "0"},
      {"instance_flags", "0"},
      {"key", "k"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    {"duplicate_request",
     {{"request", "lookup"},
      {"request", "lookup"},
      {"table", "t:x"},
      {"flags", "0"},
      {"key", "k"}},
     ParseKind::Bad,
     make(L, V1, "", 0, 0)},
    // Trailing extras after the last expected attribute are tolerated.
    {"v1_trailing_extra",
     {{"request", "lookup"},
      {"table", "t:x"},
      {"flags", "0"},
      {"key", "k"},
      {"foo", "bar"},
      {"key", "again"}},
     ParseKind::Ok,
     make(L, V1, "t:x", 0, 0, "k"),
     {"foo", "key"}},
    {"v1_open_then_instance_flags",
     {{"request", "open"}, {"table", "t:x"}, {"flags", "0"}, {"instance_flags", "9"}},
     ParseKind::Ok,
     make(O, V1, "t:x", 0, 0),
     {"instance_flags"}},
    {"v2_open_then_flags",
     {{"request", "open"}, {"table", "t:x"}, {"instance_flags", "9"}, {"flags", "1"}},
     ParseKind::Ok,
     make(O, V2, "t:x", 9, 0),
     {"flags"}},
    // Unknown request names get the status-only reply.
    {"unknown_close", {{"request", "close"}, {"table", "t:x"}}, ParseKind::Unknown, {}},
    {"unknown_case", {{"request", "LOOKUP"}}, ParseKind::Unknown, {}},
    {"unknown_empty", {{"request", ""}}, ParseKind::Unknown, {}},
    // Not a request: Postfix sends no reply at all.
    {"empty_message", {}, ParseKind::NotARequest, {}},
    {"table_first",
     {{"table", "t:x"}, {"request", "lookup"}},
     ParseKind::NotARequest,
     {}},
    {"greeting_echoed", {{"protocol", "proxymap_protocol"}}, ParseKind::NotARequest, {}},
};

INSTANTIATE_TEST_SUITE_P(Cases, ParseRequestTest, ::testing::ValuesIn(kParseCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ParseRequest, ErrorTextsAreLogSafe) {
  const ParseResult unknown = parse_request({{"request", "x\ny"}});
  EXPECT_EQ(unknown.kind, ParseKind::Unknown);
  EXPECT_EQ(unknown.error, "unrecognized request: \"x\\x0ay\", ignored");
  const ParseResult bad =
      parse_request({{"request", "lookup"}, {"table", "t"}, {"flags\x01", "0"}});
  EXPECT_EQ(bad.error,
            "lookup request: unexpected attribute flags\\x01 (expecting: flags)");
}

// Every type and dialect survives encode_request -> decode -> parse_request.
TEST(RequestRoundTrip, AllTypesBothDialects) {
  for (auto dialect : {V1, V2}) {
    for (auto type : {O, L, U, D, S}) {
      Request r = make(type, dialect, "pgsql:/a b.cf", 0, 0);
      if (dialect == V2) r.instance_flags = 540737;
      if (type != O || dialect == V1) r.flags = 4294967295u;
      if (type == L || type == U || type == D) r.key = "Key\xc3\x9f";
      if (type == U) r.value = "v,w";
      if (type == S) r.function = kSeqNext;
      const ParseResult parsed = parse_request(decode_one(encode_request(r)));
      ASSERT_EQ(parsed.kind, ParseKind::Ok) << parsed.error;
      EXPECT_EQ(parsed.request, r) << request_name(type);
    }
  }
}

TEST(ParseReply, RoundTripsEveryLayout) {
  for (auto dialect : {V1, V2}) {
    for (auto type : {O, L, U, D, S}) {
      Reply want = reply_of(ProxyStatus::Retry);
      if (type == O || dialect == V2) want.flags = 1589329;
      if (type == S) want.key = "k";
      if (type == L || type == S) want.value = "a,b";
      Reply got = reply_of(ProxyStatus::Ok, 99, "junk", "junk");
      std::string error;
      ASSERT_TRUE(parse_reply(type, dialect,
                              decode_one(encode_reply(type, dialect, want)), got, error))
          << error;
      EXPECT_EQ(got, want) << request_name(type);
      EXPECT_TRUE(error.empty());
    }
  }
}

struct ReplyCase {
  const char* name;
  RequestType type;
  Dialect dialect;
  AttrList attrs;
  bool ok;
  const char* error_part;
};

TEST(ParseReply, StrictLikeAPostfixClient) {
  const ReplyCase cases[] = {
      {"v2_reply_to_v1_lookup",
       L,
       V1,
       {{"status", "0"}, {"flags", "16"}, {"value", "x"}},
       false,
       "unexpected attribute flags (expecting: value)"},
      {"v1_reply_to_v2_lookup",
       L,
       V2,
       {{"status", "0"}, {"value", "x"}},
       false,
       "unexpected attribute value (expecting: flags)"},
      {"status_only_to_lookup",
       L,
       V1,
       {{"status", "3"}},
       false,
       "missing attribute value"},
      {"status_only_to_v2_update",
       U,
       V2,
       {{"status", "0"}},
       false,
       "missing attribute flags"},
      {"empty", D, V1, {}, false, "missing attribute status"},
      {"bad_status_number", D, V1, {{"status", "ok"}}, false, "malformed numerical data"},
      {"bad_flags_number",
       O,
       V1,
       {{"status", "0"}, {"flags", "1x"}},
       false,
       "malformed numerical data in flags"},
      {"trailing_extra_tolerated", D, V1, {{"status", "1"}, {"value", ""}}, true, ""},
      {"status_space_plus", U, V1, {{"status", " +2"}}, true, ""},
      {"unexpected_status_code", U, V1, {{"status", "9"}}, true, ""},
  };
  for (const auto& c : cases) {
    Reply reply;
    std::string error;
    EXPECT_EQ(parse_reply(c.type, c.dialect, c.attrs, reply, error), c.ok) << c.name;
    EXPECT_NE(error.find(c.error_part), std::string::npos) << c.name << ": " << error;
  }
  Reply reply;
  std::string error;
  ASSERT_TRUE(parse_reply(U, V1, {{"status", "9"}}, reply, error));
  EXPECT_EQ(static_cast<uint32_t>(reply.status), 9u);
}

TEST(Status, Names) {
  EXPECT_EQ(status_name(ProxyStatus::Ok), "ok");
  EXPECT_EQ(status_name(ProxyStatus::NoKey), "nokey");
  EXPECT_EQ(status_name(ProxyStatus::Retry), "retry");
  EXPECT_EQ(status_name(ProxyStatus::Bad), "bad");
  EXPECT_EQ(status_name(ProxyStatus::Deny), "deny");
  EXPECT_EQ(status_name(ProxyStatus::Config), "config");
  EXPECT_EQ(status_name(static_cast<ProxyStatus>(17)), "unknown");
  EXPECT_EQ(request_name(RequestType::Sequence), "sequence");
}

TEST(Status, FlagsToString) {
  // Names as Postfix's dict_flags_str() prints them (util/dict.c).
  EXPECT_EQ(flags_to_string(0), "");
  EXPECT_EQ(flags_to_string(524353), "warn_dup|lock|utf8_request");
  EXPECT_EQ(flags_to_string(540737), "warn_dup|lock|fold_fix|utf8_request");
  EXPECT_EQ(flags_to_string(1589329),
            "warn_dup|fixed|lock|fold_fix|utf8_request|utf8_active");
  EXPECT_EQ(flags_to_string(flags::kFixed | flags::kDupReplace | flags::kSurrogate),
            "fixed|dup_replace|surrogate");
  EXPECT_EQ(flags_to_string(flags::kFixed | 0x400 | 0x80000000u), "fixed|0x80000400");
  EXPECT_EQ(flags_to_string(0x400), "0x400");
}

TEST(Status, MasksMatchSpec) {
  // SPEC 5: IMPL = 0x40030, RQST = 0x8F9C3.
  EXPECT_EQ(flags::kImplMask, 0x40030u);
  EXPECT_EQ(flags::kRqstMask, 0x8F9C3u);
}

}  // namespace
}  // namespace proxyd::protocol
