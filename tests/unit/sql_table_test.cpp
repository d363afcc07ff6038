// Placeholder: replaced by the work package that owns sql_table.
#include <gtest/gtest.h>
