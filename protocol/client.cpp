// Stub: implemented by the protocol work package.
#include "protocol/client.h"
