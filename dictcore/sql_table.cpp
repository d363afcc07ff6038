// Stub: implemented by the SQL work package.
#include "dictcore/sql_table.h"
