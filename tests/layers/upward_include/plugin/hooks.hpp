// A fixture for the core_layers check: the plugin host may include the broker.
#pragma once
#include "broker/session.hpp"
