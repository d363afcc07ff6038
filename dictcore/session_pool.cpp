// Stub: implemented by the SQL work package.
#include "dictcore/session_pool.h"
