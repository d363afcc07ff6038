// Placeholder: replaced by the work package that owns messages.
#include <gtest/gtest.h>
