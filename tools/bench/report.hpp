// Writing a result out: the JSON object (stdout, --json FILE) and a human summary (stderr).
#pragma once

#include <string>

#include "options.hpp"
#include "result.hpp"

namespace bench {

std::string result_json(const Options& o, const Result& r);
void print_summary(const Options& o, const Result& r);

// Whether the losses exceed --max-loss.
bool loss_exceeded(const Options& o, const Result& r);

}  // namespace bench
