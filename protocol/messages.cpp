// Stub: implemented by the protocol work package.
#include "protocol/messages.h"
