// Postfix "attr 0" framing (util/attr_print0.c, util/attr_scan0.c): messages
// of "name NUL value NUL" pairs closed by one NUL. The decoder is incremental
// (each byte is scanned once, whatever the read sizes), bounded by AttrLimits
// where Postfix has no limit at all, and compacts its buffer so a long-lived
// connection holds at most one partial field plus unread input.
// Number parsing reproduces attr_scan0's sscanf("%u%c") on glibc/LP64.
// No shared state; one decoder per connection, used by one thread.
#include "protocol/attr_codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "protocol/ascii.h"

namespace proxyd::protocol {

namespace {

// Below this, compaction is not worth a memmove.
constexpr std::size_t kCompactMin = 4096;
// An idle decoder keeps at most this much spare capacity.
constexpr std::size_t kIdleCapacity = 64 * 1024;

}  // namespace

AttrDecoder::AttrDecoder(AttrLimits limits) : limits_(limits) {}

void AttrDecoder::feed(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  compact();
  buf_.append(bytes);
}

std::size_t AttrDecoder::buffered() const {
  return pending_bytes_ + (buf_.size() - field_start_);
}

void AttrDecoder::clear() {
  std::string().swap(buf_);
  field_start_ = 0;
  scan_ = 0;
  field_ = Field::Name;
  pending_name_.clear();
  pending_.clear();
  pending_bytes_ = 0;
  failed_ = false;
  error_.clear();
  discarding_ = false;
  oversized_ = false;
}

DecodeStatus AttrDecoder::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  return DecodeStatus::Malformed;
}

void AttrDecoder::compact() {
  if (field_start_ == 0) return;
  if (field_start_ == buf_.size()) {
    // Everything consumed: drop it, and give back a large idle buffer.
    if (buf_.capacity() > kIdleCapacity) {
      std::string().swap(buf_);
    } else {
      buf_.clear();
    }
    scan_ = 0;
    field_start_ = 0;
    return;
  }
  // Erase the consumed prefix only when it is at least half of the buffer,
  // which keeps the copying amortised O(1) per byte.
  if (field_start_ >= kCompactMin && field_start_ * 2 >= buf_.size()) {
    buf_.erase(0, field_start_);
    scan_ -= field_start_;
    field_start_ = 0;
  }
}

bool AttrDecoder::skip_discarded() {
  // Drop the long value up to its NUL; keep none of it.
  const void* nul =
      field_start_ < buf_.size()
          ? std::memchr(buf_.data() + field_start_, '\0', buf_.size() - field_start_)
          : nullptr;
  if (nul == nullptr) {
    field_start_ = scan_ = buf_.size();
    compact();
    return false;
  }
  field_start_ =
      static_cast<std::size_t>(static_cast<const char*>(nul) - buf_.data()) + 1;
  scan_ = field_start_;
  pending_bytes_ += 1;
  pending_.push_back(Attr{std::move(pending_name_), {}});
  pending_name_.clear();
  field_ = Field::Name;
  discarding_ = false;
  return true;
}

std::size_t AttrDecoder::field_limit(bool may_discard) const {
  std::size_t limit =
      field_ == Field::Name ? limits_.max_name_len : limits_.max_value_len;
  if (may_discard && limits_.max_message_bytes > 0) {
    const std::size_t room = limits_.max_message_bytes > pending_bytes_
                                 ? limits_.max_message_bytes - pending_bytes_
                                 : 0;
    limit = std::min(limit, room);
  }
  return limit;
}

DecodeStatus AttrDecoder::finish_message(AttrList& out) {
  out = std::move(pending_);
  pending_.clear();
  pending_bytes_ = 0;
  compact();
  if (oversized_) {
    oversized_ = false;
    return DecodeStatus::Oversized;
  }
  return DecodeStatus::Complete;
}

DecodeStatus AttrDecoder::next(AttrList& out) {
  out.clear();
  if (failed_) return DecodeStatus::Malformed;
  for (;;) {
    if (discarding_) {
      if (!skip_discarded()) return DecodeStatus::NeedMore;
      continue;
    }
    const bool may_discard = field_ == Field::Value && limits_.discard_long_values;
    const std::size_t limit = field_limit(may_discard);
    const char* base = buf_.data();
    const void* nul = scan_ < buf_.size()
                          ? std::memchr(base + scan_, '\0', buf_.size() - scan_)
                          : nullptr;
    const std::size_t end =
        nul != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nul) - base)
                       : buf_.size();
    const std::size_t len = end - field_start_;
    if (len > limit) {
      if (may_discard) {
        if (!oversized_) dropped_ = pending_name_;
        oversized_ = true;
        discarding_ = true;
        continue;
      }
      if (field_ == Field::Name) {
        return fail(fmt::format("attribute name longer than {} bytes", limit));
      }
      return fail(fmt::format("value of attribute \"{}\" longer than {} bytes",
                              printable(pending_name_), limit));
    }
    if (nul == nullptr) {
      scan_ = end;
      compact();
      return DecodeStatus::NeedMore;
    }
    std::string field(base + field_start_, len);
    field_start_ = end + 1;
    scan_ = field_start_;
    pending_bytes_ += len + 1;
    if (field_ == Field::Value) {
      pending_.push_back(Attr{std::move(pending_name_), std::move(field)});
      pending_name_.clear();
      field_ = Field::Name;
      continue;
    }
    if (field.empty()) return finish_message(out);  // list terminator
    if (pending_.size() >= limits_.max_attrs) {
      return fail(
          fmt::format("more than {} attributes in one message", limits_.max_attrs));
    }
    pending_name_ = std::move(field);
    field_ = Field::Value;
  }
}

void append_attr(std::string& out, std::string_view name, std::string_view value) {
  out.append(name.substr(0, name.find('\0')));
  out.push_back('\0');
  out.append(value.substr(0, value.find('\0')));
  out.push_back('\0');
}

void append_terminator(std::string& out) { out.push_back('\0'); }

std::string encode_attrs(const AttrList& attrs) {
  std::string out;
  for (const auto& attr : attrs) append_attr(out, attr.name, attr.value);
  append_terminator(out);
  return out;
}

bool parse_postfix_uint(std::string_view text, uint32_t& out) {
  std::size_t i = 0;
  // White space first, as sscanf's %u skips it.
  while (i < text.size() && c_space(text[i])) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  const std::size_t digits_start = i;
  uint64_t value = 0;
  bool overflow = false;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (; i < text.size() && ascii_digit(text[i]); ++i) {
    const auto digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) {
      overflow = true;  // strtoul: ERANGE, result ULONG_MAX whatever the sign
    } else {
      value = value * 10 + digit;
    }
  }
  if (i == digits_start || i != text.size()) return false;
  if (overflow) {
    value = kMax;
  } else if (negative) {
    value = ~value + 1;  // unsigned negation, as strtoul does
  }
  out = static_cast<uint32_t>(value);  // the (unsigned int) store in scanf
  return true;
}

std::string printable(std::string_view bytes, std::size_t max_len) {
  std::string out;
  const std::size_t n = bytes.size() < max_len ? bytes.size() : max_len;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto ch = static_cast<unsigned char>(bytes[i]);
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out.push_back(static_cast<char>(ch));
    } else {
      out += fmt::format("\\x{:02x}", ch);
    }
  }
  if (bytes.size() > max_len) out += "...";
  return out;
}

}  // namespace proxyd::protocol
