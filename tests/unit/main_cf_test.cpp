// Placeholder: replaced by the work package that owns main_cf.
#include <gtest/gtest.h>
