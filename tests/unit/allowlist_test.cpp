// Placeholder: replaced by the work package that owns allowlist.
#include <gtest/gtest.h>
