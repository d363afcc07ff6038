// Stub: implemented by the tables work package.
#include "dictcore/registry.h"
