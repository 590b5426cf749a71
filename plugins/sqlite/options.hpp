// The sqlite plugin's options ([plugin.options] of its [[plugin]] table), parsed and checked.
// README.md in this folder documents each one.
#pragma once
#include <cstdint>
#include <string>

#include "roost/plugin.h"

namespace roost_sqlite {

enum class SyncMode {
    Full,     // synchronous=FULL, acknowledgements wait for the commit (and its fsync)
    Normal,   // WAL synchronous=NORMAL, acknowledgements wait for the commit (no fsync)
    Periodic  // commit every commit_interval ms, acknowledgements do not wait
};

struct Options {
    std::string path = "roost.db";
    SyncMode sync = SyncMode::Normal;
    uint64_t commit_interval_ms = 100;   // periodic: between commits; durable modes: unused
    uint64_t commit_delay_ms = 1;        // durable modes, while busy: how long a batch gathers
    uint64_t max_size_bytes = 0;         // 0 = unlimited
    uint64_t stats_interval_ms = 60000;  // 0 = no periodic statistics line
};

const char* sync_name(SyncMode m);

// Parses `options`; on a wrong one logs "file:line: ..." through host->log and returns false.
bool parse_options(const roost_host* host, roost_plugin* self, const roost_option* options, size_t count,
                   Options& out);

}  // namespace roost_sqlite
