// Placeholder: replaced by the work package that owns attr_codec.
#include <gtest/gtest.h>
