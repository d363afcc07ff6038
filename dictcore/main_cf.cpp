// Stub: implemented by the configuration work package.
#include "dictcore/main_cf.h"
