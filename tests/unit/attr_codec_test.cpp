// Tests for the Postfix "attr 0" codec: byte-exact encoding, incremental
// decoding at every split point, limits, buffer accounting, a seeded fuzz
// loop against a whole-buffer reference model, and Postfix's "%u%c" number
// syntax checked against this libc's sscanf (what attr_scan0 itself calls).
#include "protocol/attr_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace proxyd::protocol {
namespace {

using namespace std::string_literals;

// Drain every complete message; returns the final non-Complete status.
DecodeStatus drain(AttrDecoder& decoder, std::vector<AttrList>& out) {
  for (;;) {
    AttrList message;
    const DecodeStatus status = decoder.next(message);
    if (status != DecodeStatus::Complete) return status;
    out.push_back(std::move(message));
  }
}

TEST(AttrEncode, GreetingIsTheSpecBytes) {
  // SPEC 1.1: the 28-byte greeting.
  const std::string want = "protocol\0proxymap_protocol\0\0"s;
  EXPECT_EQ(want.size(), 28u);
  EXPECT_EQ(encode_attrs({{"protocol", "proxymap_protocol"}}), want);
}

TEST(AttrEncode, EmptyListIsOneNul) { EXPECT_EQ(encode_attrs({}), "\0"s); }

TEST(AttrEncode, EmptyValueKeepsItsNul) {
  EXPECT_EQ(encode_attrs({{"status", "1"}, {"value", ""}}), "status\0001\0value\0\0\0"s);
}

TEST(AttrEncode, EmbeddedNulTruncatesLikeACString) {
  std::string out;
  append_attr(out, "value", "ab\0cd"s);
  append_terminator(out);
  EXPECT_EQ(out, "value\0ab\0\0"s);
}

TEST(AttrDecode, SingleMessage) {
  AttrDecoder decoder;
  decoder.feed("status\0000\0flags\00016\0\0"s);
  AttrList message;
  ASSERT_EQ(decoder.next(message), DecodeStatus::Complete);
  EXPECT_EQ(message, (AttrList{{"status", "0"}, {"flags", "16"}}));
  EXPECT_EQ(decoder.next(message), DecodeStatus::NeedMore);
  EXPECT_TRUE(message.empty());
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(AttrDecode, LoneNulIsAnEmptyMessage) {
  AttrDecoder decoder;
  decoder.feed("\0"s);
  AttrList message{{"stale", "x"}};
  ASSERT_EQ(decoder.next(message), DecodeStatus::Complete);
  EXPECT_TRUE(message.empty());
}

TEST(AttrDecode, EmptyValuesAndDuplicateNamesAreKept) {
  AttrDecoder decoder;
  decoder.feed("a\0\0a\0x\0\0"s);
  AttrList message;
  ASSERT_EQ(decoder.next(message), DecodeStatus::Complete);
  EXPECT_EQ(message, (AttrList{{"a", ""}, {"a", "x"}}));
}

TEST(AttrDecode, BufferedCountsPartialMessage) {
  AttrDecoder decoder;
  decoder.feed("request\0look"s);
  AttrList message;
  EXPECT_EQ(decoder.next(message), DecodeStatus::NeedMore);
  EXPECT_EQ(decoder.buffered(), 12u);
  decoder.feed("up\0\0key"s);
  ASSERT_EQ(decoder.next(message), DecodeStatus::Complete);
  EXPECT_EQ(message, (AttrList{{"request", "lookup"}}));
  EXPECT_EQ(decoder.buffered(), 3u);  // "key" of the next message
  decoder.clear();
  EXPECT_EQ(decoder.buffered(), 0u);
  EXPECT_EQ(decoder.next(message), DecodeStatus::NeedMore);
}

// A stream of several messages, including the SPEC Appendix A strings and an
// empty message, decoded with the input split at every possible point.
TEST(AttrDecode, EverySplitPointOfAMultiMessageStream) {
  const std::vector<AttrList> messages = {
      {{"protocol", "proxymap_protocol"}},
      {{"request", "open"}, {"table", "mysql:/etc/postfix/valiases.cf"}, {"flags", "0"}},
      {},
      {{"status", "1"}, {"value", ""}},
      {{"request", "lookup"},
       {"table", "mysql:/etc/postfix/valiases.cf"},
       {"flags", "524353"},
       {"key", "alias0@example0.org"}},
      {{"status", "0"}, {"key", ""}, {"value", "x,y"}},
  };
  std::string stream;
  for (const auto& m : messages) stream += encode_attrs(m);
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    AttrDecoder decoder;
    std::vector<AttrList> got;
    decoder.feed(std::string_view(stream).substr(0, split));
    ASSERT_EQ(drain(decoder, got), DecodeStatus::NeedMore) << split;
    decoder.feed(std::string_view(stream).substr(split));
    ASSERT_EQ(drain(decoder, got), DecodeStatus::NeedMore) << split;
    EXPECT_EQ(got, messages) << "split at " << split;
    EXPECT_EQ(decoder.buffered(), 0u);
  }
  // And one byte at a time.
  AttrDecoder decoder;
  std::vector<AttrList> got;
  for (char ch : stream) {
    decoder.feed(std::string_view(&ch, 1));
    ASSERT_EQ(drain(decoder, got), DecodeStatus::NeedMore);
  }
  EXPECT_EQ(got, messages);
}

TEST(AttrDecode, LargeValueInChunksAndBufferIsReused) {
  AttrDecoder decoder;
  const std::string big(300 * 1000, 'v');
  const std::string wire = encode_attrs({{"value", big}});
  std::vector<AttrList> got;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < wire.size(); i += 997) {
      decoder.feed(std::string_view(wire).substr(i, 997));
      ASSERT_EQ(drain(decoder, got), DecodeStatus::NeedMore);
    }
    EXPECT_EQ(decoder.buffered(), 0u);
  }
  ASSERT_EQ(got.size(), 3u);
  for (const auto& m : got) EXPECT_EQ(m, (AttrList{{"value", big}}));
}

struct LimitCase {
  const char* name;
  std::string input;
  DecodeStatus want;
  const char* error_part;  // expected substring of error() when Malformed
};

class AttrLimitsTest : public ::testing::TestWithParam<LimitCase> {};

TEST_P(AttrLimitsTest, Enforced) {
  const LimitCase& c = GetParam();
  AttrDecoder decoder(AttrLimits{4, 6, 2});
  // Byte-at-a-time and all-at-once must agree.
  for (bool bytewise : {false, true}) {
    decoder.clear();
    std::vector<AttrList> got;
    DecodeStatus status = DecodeStatus::NeedMore;
    if (bytewise) {
      for (char ch : c.input) {
        decoder.feed(std::string_view(&ch, 1));
        status = drain(decoder, got);
        if (status == DecodeStatus::Malformed) break;
      }
    } else {
      decoder.feed(c.input);
      status = drain(decoder, got);
    }
    EXPECT_EQ(status, c.want) << c.name << (bytewise ? " bytewise" : "");
    if (c.want == DecodeStatus::Malformed) {
      EXPECT_NE(decoder.error().find(c.error_part), std::string::npos) << decoder.error();
      // Sticky until clear(), even when more valid input arrives.
      decoder.feed("\0"s);
      AttrList message;
      EXPECT_EQ(decoder.next(message), DecodeStatus::Malformed);
    }
  }
  decoder.clear();
  decoder.feed("ok\0x\0\0"s);
  AttrList message;
  EXPECT_EQ(decoder.next(message), DecodeStatus::Complete);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AttrLimitsTest,
    ::testing::Values(
        LimitCase{"at_limits", "name\0value6\0abcd\0\0\0"s, DecodeStatus::NeedMore, ""},
        LimitCase{"long_name", "names\0x\0\0"s, DecodeStatus::Malformed,
                  "attribute name longer than 4 bytes"},
        LimitCase{"long_name_no_nul_yet", "namesnamesnames"s, DecodeStatus::Malformed,
                  "attribute name longer than 4 bytes"},
        LimitCase{"long_value", "key\0value67\0\0"s, DecodeStatus::Malformed,
                  "value of attribute \"key\" longer than 6 bytes"},
        LimitCase{"long_value_no_nul_yet", "key\0vvvvvvvvvvvvvvvv"s,
                  DecodeStatus::Malformed, "longer than 6 bytes"},
        LimitCase{"too_many_attrs", "a\0\0b\0\0c\0\0\0"s, DecodeStatus::Malformed,
                  "more than 2 attributes"},
        LimitCase{"count_resets_per_message", "a\0\0b\0\0\0c\0\0d\0\0\0"s,
                  DecodeStatus::NeedMore, ""}),
    [](const auto& info) { return std::string(info.param.name); });

// Reference model: decode a whole buffer non-incrementally.
DecodeStatus reference_decode(std::string_view in, const AttrLimits& limits,
                              std::vector<AttrList>& out) {
  std::size_t pos = 0;
  AttrList current;
  bool in_value = false;
  std::string name;
  for (;;) {
    const std::size_t nul = in.find('\0', pos);
    const std::size_t end = nul == std::string_view::npos ? in.size() : nul;
    const std::size_t limit = in_value ? limits.max_value_len : limits.max_name_len;
    if (end - pos > limit) return DecodeStatus::Malformed;
    if (nul == std::string_view::npos) return DecodeStatus::NeedMore;
    std::string field(in.substr(pos, end - pos));
    pos = end + 1;
    if (in_value) {
      current.push_back({name, field});
      in_value = false;
    } else if (field.empty()) {
      out.push_back(current);
      current.clear();
    } else {
      if (current.size() >= limits.max_attrs) return DecodeStatus::Malformed;
      name = field;
      in_value = true;
    }
  }
}

TEST(AttrDecodeFuzz, RandomInputMatchesReferenceModel) {
  std::mt19937 rng(20240611);  // fixed seed: reproducible
  const std::string alphabet = "\0\0\0ab=x"s;
  for (int iter = 0; iter < 20000; ++iter) {
    const AttrLimits limits{1 + rng() % 6, rng() % 8, 1 + rng() % 4};
    std::string input(rng() % 40, ' ');
    for (char& ch : input) ch = alphabet[rng() % alphabet.size()];
    std::vector<AttrList> want;
    const DecodeStatus want_status = reference_decode(input, limits, want);

    AttrDecoder decoder(limits);
    std::vector<AttrList> got;
    DecodeStatus status = DecodeStatus::NeedMore;
    std::size_t pos = 0;
    while (pos < input.size() && status != DecodeStatus::Malformed) {
      const std::size_t chunk = 1 + rng() % 7;
      decoder.feed(std::string_view(input).substr(pos, chunk));
      pos += chunk;
      status = drain(decoder, got);
    }
    ASSERT_EQ(status, want_status) << "iteration " << iter;
    ASSERT_EQ(got, want) << "iteration " << iter;
    if (status == DecodeStatus::NeedMore) {
      // Everything not returned is accounted for, and re-encoding what was
      // returned reproduces the consumed prefix exactly.
      std::string consumed;
      for (const auto& m : got) consumed += encode_attrs(m);
      ASSERT_EQ(consumed.size() + decoder.buffered(), input.size());
      ASSERT_EQ(input.compare(0, consumed.size(), consumed), 0);
    }
  }
}

// Postfix's own parser: sscanf(s, "%u%c", &v, &junk) == 1 (attr_scan0.c).
bool libc_postfix_uint(const std::string& s, uint32_t& out) {
  unsigned value = 0;
  char junk = 0;
  if (std::sscanf(s.c_str(), "%u%c", &value, &junk) != 1 || junk != 0) return false;
  out = value;
  return true;
}

struct UintCase {
  std::string text;
  bool ok;
  uint32_t value;
};

TEST(ParsePostfixUint, Table) {
  const UintCase cases[] = {
      {"0", true, 0},
      {" +0", true, 0},  // SPEC 1.2, verified against proxymap 3.7.11
      {"+5", true, 5},
      {" \t\n\v\f\r7", true, 7},
      {"007", true, 7},
      {"524353", true, 524353},
      {"4294967295", true, 4294967295u},
      {"-1", true, 4294967295u},
      {"-0", true, 0},
      {"-4294967295", true, 1},
      // Beyond 32 bits: strtoul on LP64, then truncated to unsigned int.
      {"4294967296", true, 0},
      {"4294967297", true, 1},
      {"-4294967296", true, 0},
      {"18446744073709551615", true, 4294967295u},
      {"18446744073709551616", true, 4294967295u},  // ERANGE -> ULONG_MAX
      {"-18446744073709551616", true, 4294967295u},
      {"99999999999999999999999999", true, 4294967295u},
      {"", false, 0},
      {" ", false, 0},
      {"+", false, 0},
      {"-", false, 0},
      {"+-1", false, 0},
      {"12x", false, 0},  // SPEC 1.2, verified: flags=12x -> BAD
      {"12 ", false, 0},  // %c catches trailing white space
      {"0x10", false, 0},
      {"1.5", false, 0},
      {"x", false, 0},
  };
  for (const auto& c : cases) {
    uint32_t got = 12345;
    EXPECT_EQ(parse_postfix_uint(c.text, got), c.ok) << "'" << c.text << "'";
    if (c.ok) {
      EXPECT_EQ(got, c.value) << "'" << c.text << "'";
    }
    uint32_t libc = 0;
    EXPECT_EQ(libc_postfix_uint(c.text, libc), c.ok) << "libc '" << c.text << "'";
    if (c.ok) {
      EXPECT_EQ(libc, c.value) << "libc '" << c.text << "'";
    }
  }
}

TEST(ParsePostfixUint, AgreesWithLibcSscanfOnRandomInput) {
  std::mt19937 rng(77);
  const std::string alphabet = " \t+-0123456789999x";
  for (int iter = 0; iter < 20000; ++iter) {
    std::string text(rng() % 26, ' ');
    for (char& ch : text) ch = alphabet[rng() % alphabet.size()];
    uint32_t ours = 0;
    uint32_t libc = 0;
    const bool ours_ok = parse_postfix_uint(text, ours);
    ASSERT_EQ(ours_ok, libc_postfix_uint(text, libc)) << "'" << text << "'";
    if (ours_ok) {
      ASSERT_EQ(ours, libc) << "'" << text << "'";
    }
  }
}

TEST(AttrDiscard, LongValueIsDroppedAndTheStreamStaysInSync) {
  AttrLimits limits;
  limits.max_value_len = 6;
  limits.discard_long_values = true;
  AttrDecoder decoder(limits);
  const std::string input = "request\0lookup\0key\0"s + std::string(100, 'k') +
                            "\0flags\0"
                            "0\0\0"
                            "request\0open\0\0"s;
  // Byte by byte: nothing of the long value is kept meanwhile.
  AttrList message;
  std::size_t most = 0;
  for (char ch : input.substr(0, input.size() - 15)) {
    decoder.feed(std::string_view(&ch, 1));
    ASSERT_EQ(decoder.next(message), DecodeStatus::NeedMore);
    most = std::max(most, decoder.buffered());
  }
  EXPECT_LE(most, 30u);  // the other attributes and at most 7 bytes of the 100
  decoder.feed(input.substr(input.size() - 15));
  ASSERT_EQ(decoder.next(message), DecodeStatus::Oversized);
  EXPECT_EQ(decoder.dropped(), "key");
  EXPECT_EQ(message, (AttrList{{"request", "lookup"}, {"key", ""}, {"flags", "0"}}));
  ASSERT_EQ(decoder.next(message), DecodeStatus::Complete);
  EXPECT_EQ(message, (AttrList{{"request", "open"}}));
  EXPECT_EQ(decoder.next(message), DecodeStatus::NeedMore);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(AttrDiscard, MessageLimitDropsTheValueThatCrossesIt) {
  AttrLimits limits;
  limits.discard_long_values = true;
  limits.max_message_bytes = 40;
  AttrDecoder decoder(limits);
  // 20 + 21 bytes of values: the second one would cross 40 bytes in all.
  decoder.feed("a\0"s + std::string(20, 'x') + "\0b\0"s + std::string(21, 'y') +
               "\0c\0z\0\0"s);
  AttrList message;
  ASSERT_EQ(decoder.next(message), DecodeStatus::Oversized);
  EXPECT_EQ(decoder.dropped(), "b");
  EXPECT_EQ(message, (AttrList{{"a", std::string(20, 'x')}, {"b", ""}, {"c", "z"}}));
}

TEST(AttrDiscard, OffByDefaultAndNeverForNames) {
  AttrDecoder strict(AttrLimits{4, 6, 2});
  strict.feed("key\0value67\0\0"s);
  AttrList message;
  EXPECT_EQ(strict.next(message), DecodeStatus::Malformed);
  AttrLimits limits{4, 6, 2};
  limits.discard_long_values = true;
  AttrDecoder lenient(limits);
  lenient.feed("names\0x\0\0"s);
  EXPECT_EQ(lenient.next(message), DecodeStatus::Malformed);
}

TEST(Printable, EscapesAndTruncates) {
  EXPECT_EQ(printable("abc"), "abc");
  EXPECT_EQ(printable("a\nb\\\x01\xff"s), "a\\x0ab\\x5c\\x01\\xff");
  EXPECT_EQ(printable("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace proxyd::protocol
