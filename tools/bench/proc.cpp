#include "proc.hpp"

#include <sys/resource.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace bench {

std::optional<double> process_cpu_seconds(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return std::nullopt;
    // The command name (field 2) is in parentheses and may contain spaces: count fields after
    // the last ')'. Then field 3 is the state, and utime/stime are fields 14 and 15.
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && (rest >> field); ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    if (!rest) return std::nullopt;
    static const long ticks = sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

std::optional<uint64_t> process_rss_bytes(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        unsigned long long kb = 0;
        if (std::sscanf(line.c_str(), "VmRSS: %llu kB", &kb) == 1) return kb * 1024;
    }
    return std::nullopt;
}

ProcSample sample_process(pid_t pid) {
    ProcSample s;
    auto cpu = process_cpu_seconds(pid);
    auto rss = process_rss_bytes(pid);
    if (!cpu || !rss) return s;
    s.ok = true;
    s.cpu_s = *cpu;
    s.rss = *rss;
    return s;
}

double own_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto secs = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}

}  // namespace bench
