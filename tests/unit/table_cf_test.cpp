// Placeholder: replaced by the work package that owns table_cf.
#include <gtest/gtest.h>
