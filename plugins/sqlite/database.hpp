// The SQLite file: opening it with clear errors, the schema and its migrations, applying
// operations, reading everything back at restore. Not thread-safe: the main thread uses it in
// init and restore(), the writer thread afterwards, never both at once (Writer starts after
// restore).
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>

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
    // Undoes the open transaction. The row index below no longer matches the file then, so it is
    // given up (every later delete runs).
    void rollback();
    // SQLITE_OK or the SQLite error code of the failed statement.
    int apply(const Operation& op);

    // Reuses free pages: gives back what the free list holds beyond a margin.
    void vacuum_if_worthwhile();
    // Bytes the main file takes (pages in use and free).
    uint64_t size_bytes();
    const char* errmsg() const { return sqlite3_errmsg(_db); }
    // Statements apply() ran since the start (what the writer's absorbing and the row index
    // below left to do), for the statistics line.
    uint64_t statements() const { return _statements; }
    const std::string& path() const { return _path; }

    static constexpr int schema_version = 1;

  private:
    bool exec(const char* sql, std::string& error);
    bool migrate(std::string& error);
    bool prepare_all(std::string& error);
    sqlite3_stmt* prepare(const char* sql, std::string& error);
    int step_reset(sqlite3_stmt* s);

    // Which message and delivery rows the file holds, so that a delete of a row that was never
    // written (a message delivered and acknowledged within the batch that would have stored it:
    // the writer absorbs both) costs no statement. Filled by restore() and apply(); exact or
    // off: past kMaxIndexedRows rows, or after a rollback, it is dropped and every delete runs.
    static constexpr size_t kMaxIndexedRows = size_t(1) << 20;
    uint64_t _statements = 0;
    bool _indexed = true;
    size_t _indexed_rows = 0;
    std::unordered_set<uint64_t> _message_rows;
    std::unordered_map<std::string, std::unordered_set<uint64_t>> _delivery_rows;  // by client id
    void index_message(uint64_t id);
    void index_delivery(const std::string& client_id, uint64_t sequence);
    void drop_index();

    sqlite3* _db = nullptr;
    std::string _path;
    sqlite3_stmt *_begin = nullptr, *_commit = nullptr, *_rollback = nullptr;
    sqlite3_stmt *_session_save = nullptr, *_session_delete[4] = {}, *_sub_save = nullptr,
                 *_sub_delete = nullptr, *_msg_store = nullptr, *_msg_release = nullptr,
                 *_delivery_save = nullptr, *_delivery_delete = nullptr, *_retained_set = nullptr,
                 *_retained_clear = nullptr, *_qos2_save = nullptr, *_qos2_delete = nullptr;
};

}  // namespace roost_sqlite
