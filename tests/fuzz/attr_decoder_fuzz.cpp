// libFuzzer harness for the attr0 decoder (protocol/attr_codec): the input
// is fed in chunks whose sizes come from the input itself, and the messages
// and final state must equal those of feeding it in one piece. Every
// complete message must survive encode_attrs -> decode unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/attr_codec.h"

namespace {

using proxyd::protocol::AttrDecoder;
using proxyd::protocol::AttrLimits;
using proxyd::protocol::AttrList;
using proxyd::protocol::DecodeStatus;

// Small limits so the fuzzer reaches every limit check.
constexpr AttrLimits kLimits{16, 256, 8};

// What a decoder made of a byte stream: its messages and how it stopped.
struct Outcome {
  std::vector<AttrList> messages;
  DecodeStatus last = DecodeStatus::NeedMore;
  std::size_t buffered = 0;
};

// Drain every complete message; stops at NeedMore or Malformed.
void drain(AttrDecoder& dec, Outcome& o) {
  AttrList msg;
  for (;;) {
    o.last = dec.next(msg);
    if (o.last != DecodeStatus::Complete) return;
    o.messages.push_back(msg);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: seed of the chunk sizes (1..32 bytes each).
  unsigned seed = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Outcome whole;
  AttrDecoder one(kLimits);
  one.feed(stream);
  drain(one, whole);
  whole.buffered = one.buffered();

  Outcome chunked;
  AttrDecoder dec(kLimits);
  std::size_t pos = 0;
  while (pos < stream.size() && chunked.last != DecodeStatus::Malformed) {
    seed = seed * 1103515245u + 12345u;
    std::size_t n = 1 + (seed >> 16) % 32;
    dec.feed(stream.substr(pos, n));
    pos += std::min(n, stream.size() - pos);
    drain(dec, chunked);
  }
  if (chunked.last != DecodeStatus::Malformed) {
    chunked.buffered = dec.buffered();
    if (chunked.messages != whole.messages || chunked.last != whole.last ||
        chunked.buffered != whole.buffered) {
      std::abort();  // chunking changed the result
    }
  } else if (whole.last != DecodeStatus::Malformed ||
             chunked.messages.size() > whole.messages.size()) {
    std::abort();  // only the whole stream may hold more messages before the error
  }

  for (const AttrList& msg : whole.messages) {
    AttrDecoder again(kLimits);
    again.feed(proxyd::protocol::encode_attrs(msg));
    AttrList back;
    if (again.next(back) != DecodeStatus::Complete || back != msg ||
        again.buffered() != 0) {
      std::abort();  // encoding a decoded message does not round-trip
    }
  }
  return 0;
}
