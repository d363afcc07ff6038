// Stub: implemented by the tables work package.
#include "dictcore/simple_tables.h"
