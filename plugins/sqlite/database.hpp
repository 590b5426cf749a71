// The SQLite file: opening it with clear errors, the schema and its migrations, applying
// operations, reading everything back at restore. Not thread-safe: the main thread uses it in
// init and restore(), the writer thread afterwards, never both at once (Writer starts after
// restore).
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "operation.hpp"
#include "options.hpp"

namespace roost_sqlite {

class Database {
  public:
    Database() = default;
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Opens (or creates) the file, takes its exclusive lock, checks it and brings its schema to
    // the current version. On failure `error` says what is wrong with which file and the fix.
    bool open(const Options& options, std::string& error);

    // Hands everything stored to `sink`, in the order roost_restore_sink asks for. Expired and
    // orphaned rows are deleted first. < 0 on a failure (logged into `error`).
    int restore(const roost_restore_sink& sink, std::string& error);

    // One transaction around many apply() calls.
    int begin();
    int commit();
    void rollback();
    // SQLITE_OK or the SQLite error code of the failed statement.
    int apply(const Operation& op);

    // Reuses free pages: gives back what the free list holds beyond a margin.
    void vacuum_if_worthwhile();
    // Bytes the main file takes (pages in use and free).
    uint64_t size_bytes();
    const char* errmsg() const { return sqlite3_errmsg(_db); }
    const std::string& path() const { return _path; }

    static constexpr int schema_version = 1;

  private:
    bool exec(const char* sql, std::string& error);
    bool migrate(std::string& error);
    bool prepare_all(std::string& error);
    sqlite3_stmt* prepare(const char* sql, std::string& error);
    int step_reset(sqlite3_stmt* s);

    sqlite3* _db = nullptr;
    std::string _path;
    sqlite3_stmt *_begin = nullptr, *_commit = nullptr, *_rollback = nullptr;
    sqlite3_stmt *_session_save = nullptr, *_session_delete[4] = {}, *_sub_save = nullptr,
                 *_sub_delete = nullptr, *_msg_store = nullptr, *_msg_release = nullptr,
                 *_delivery_save = nullptr, *_delivery_delete = nullptr, *_retained_set = nullptr,
                 *_retained_clear = nullptr, *_qos2_save = nullptr, *_qos2_delete = nullptr;
};

}  // namespace roost_sqlite
