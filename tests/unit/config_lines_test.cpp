// Placeholder: replaced by the work package that owns config_lines.
#include <gtest/gtest.h>
