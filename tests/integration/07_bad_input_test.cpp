#include <doctest/doctest.h>

#include "harness.hpp"
