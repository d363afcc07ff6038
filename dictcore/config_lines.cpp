// Stub: implemented by the configuration work package.
#include "dictcore/config_lines.h"
