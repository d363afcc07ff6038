// Placeholder: replaced by the work package that owns simple_tables.
#include <gtest/gtest.h>
