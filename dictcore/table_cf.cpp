// Stub: implemented by the configuration work package.
#include "dictcore/table_cf.h"
