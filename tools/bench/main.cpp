// roost-bench: an MQTT 3.1.1 / 5 load generator that measures any broker the same way. Epoll
// and non-blocking sockets, on --threads event-loop threads; see README.md beside this file.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "idle.hpp"
#include "options.hpp"
#include "report.hpp"
#include "tls.hpp"
#include "traffic.hpp"

int main(int argc, char** argv) {
    using namespace bench;
    Options o = parse_options(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    if (std::string error; !tls::init(o, error)) {
        std::fprintf(stderr, "roost-bench: %s\n", error.c_str());
        return 2;
    }
    // A hard bound on the whole run, whatever the broker does: set-up, warm-up, measurement,
    // drain and disconnect, with room to spare.
    alarm(static_cast<unsigned>(o.connect_timeout + o.warmup + o.duration + o.drain + 30));

    Result r;
    if (o.scenario == Scenario::Conn) {
        Idle idle(o);
        idle.run(r);
        r.errors = idle.errors(), r.error_count = idle.error_count();
    } else {
        run_traffic(o, r);
    }

    const std::string json = result_json(o, r);
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    if (!o.json_file.empty()) {
        std::ofstream f(o.json_file);
        f << json << '\n';
        if (!f) std::fprintf(stderr, "roost-bench: cannot write %s\n", o.json_file.c_str());
    }
    print_summary(o, r);
    if (r.failed || r.error_count > 0) return 1;
    if (loss_exceeded(o, r)) {
        std::fprintf(stderr, "roost-bench: %llu lost, more than --max-loss allows\n",
                     static_cast<unsigned long long>(r.lost));
        return 3;
    }
    return 0;
}
