// Placeholder: replaced by the work package that owns registry.
#include <gtest/gtest.h>
