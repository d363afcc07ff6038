// Stub: implemented by the configuration work package.
#include "dictcore/allowlist.h"
