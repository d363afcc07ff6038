// Stub: implemented by the protocol work package.
#include "protocol/attr_codec.h"
