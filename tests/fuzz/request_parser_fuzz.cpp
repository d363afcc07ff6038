// libFuzzer harness for the proxymap request parser (protocol/messages):
// every message the decoder finds in the input is classified; a valid
// request must encode and parse back to itself, and every reply layout must
// encode and decode for its request type and dialect.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/attr_codec.h"
#include "protocol/messages.h"

namespace {

namespace pp = proxyd::protocol;

// Parse one encoded message with the default limits; abort if it is not one.
pp::AttrList decode_one(const std::string& wire) {
  pp::AttrDecoder dec;
  dec.feed(wire);
  pp::AttrList out;
  if (dec.next(out) != pp::DecodeStatus::Complete || dec.buffered() != 0) std::abort();
  return out;
}

void check(const pp::AttrList& attrs) {
  pp::ParseResult r = pp::parse_request(attrs);
  if (r.kind == pp::ParseKind::Ok) {
    pp::ParseResult again = pp::parse_request(decode_one(pp::encode_request(r.request)));
    if (again.kind != pp::ParseKind::Ok || !(again.request == r.request)) std::abort();
  }
  if (r.kind == pp::ParseKind::Ok || r.kind == pp::ParseKind::Bad) {
    pp::Reply reply;
    reply.status = pp::ProxyStatus::Ok;
    reply.flags = r.request.flags;
    reply.key = r.request.key;
    reply.value = r.request.value;
    pp::AttrList wire =
        decode_one(pp::encode_reply(r.request.type, r.request.dialect, reply));
    pp::Reply back;
    std::string error;
    if (!pp::parse_reply(r.request.type, r.request.dialect, wire, back, error))
      std::abort();
  }
  (void)pp::encode_status_only(pp::ProxyStatus::Bad);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  pp::AttrDecoder dec;
  dec.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  pp::AttrList msg;
  while (dec.next(msg) == pp::DecodeStatus::Complete) check(msg);
  return 0;
}
