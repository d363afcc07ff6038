// Stub: implemented by the tables work package.
#include "dictcore/surrogate.h"
