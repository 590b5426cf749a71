// A fixture for the core_layers check (tests/CMakeLists.txt): a broker header that includes the
// plugin host, which the check must refuse.
#pragma once
#include "plugin/hooks.hpp"
