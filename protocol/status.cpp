// Stub: implemented by the protocol work package.
#include "protocol/status.h"
