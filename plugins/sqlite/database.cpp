#include "database.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

namespace roost_sqlite {
namespace {

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

void bind_blob(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_blob(s, i, v.data(), int(v.size()), SQLITE_STATIC);
}

roost_bytes column_bytes(sqlite3_stmt* s, int i) {
    const void* p = sqlite3_column_blob(s, i);
    return {static_cast<const uint8_t*>(p), size_t(sqlite3_column_bytes(s, i))};
}

// Schema version N is reached by running migrations[N-1] on version N-1. Append only: a file
// written by this version must open in every later one.
const char* const migrations[] = {
    // 1: the first schema.
    "CREATE TABLE sessions(client_id BLOB PRIMARY KEY, expiry INTEGER NOT NULL, disconnected_at INTEGER "
    "NOT NULL, will_topic BLOB, will_payload BLOB, will_properties BLOB, will_qos INTEGER, will_retain "
    "INTEGER, will_due INTEGER);"
    "CREATE TABLE subscriptions(client_id BLOB NOT NULL, filter BLOB NOT NULL, qos INTEGER NOT NULL, "
    "no_local INTEGER NOT NULL, retain_as_published INTEGER NOT NULL, retain_handling INTEGER NOT NULL, "
    "subscription_id INTEGER NOT NULL, PRIMARY KEY(client_id, filter)) WITHOUT ROWID;"
    "CREATE TABLE messages(id INTEGER PRIMARY KEY, topic BLOB NOT NULL, payload BLOB NOT NULL, qos INTEGER "
    "NOT NULL, retain INTEGER NOT NULL, expires_at INTEGER NOT NULL, properties BLOB, origin BLOB);"
    "CREATE TABLE deliveries(client_id BLOB NOT NULL, sequence INTEGER NOT NULL, message_id INTEGER NOT "
    "NULL, packet_id INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL, state INTEGER NOT "
    "NULL, subscription_ids BLOB, PRIMARY KEY(client_id, sequence)) WITHOUT ROWID;"
    "CREATE INDEX deliveries_by_message ON deliveries(message_id);"
    "CREATE TABLE retained(topic BLOB PRIMARY KEY, id INTEGER NOT NULL, payload BLOB NOT NULL, qos INTEGER "
    "NOT NULL, expires_at INTEGER NOT NULL, properties BLOB, origin BLOB);"
    "CREATE TABLE incoming_qos2(client_id BLOB NOT NULL, packet_id INTEGER NOT NULL, PRIMARY "
    "KEY(client_id, packet_id)) WITHOUT ROWID;",
};
static_assert(sizeof migrations / sizeof migrations[0] == Database::schema_version);

}  // namespace

Database::~Database() {
    for (sqlite3_stmt* s :
         {_begin, _commit, _rollback, _session_save, _session_delete[0], _session_delete[1],
          _session_delete[2], _session_delete[3], _sub_save, _sub_delete, _msg_store, _msg_release,
          _delivery_save, _delivery_delete, _retained_set, _retained_clear, _qos2_save, _qos2_delete})
        sqlite3_finalize(s);
    if (_db) sqlite3_close_v2(_db);
}

bool Database::exec(const char* sql, std::string& error) {
    char* msg = nullptr;
    if (sqlite3_exec(_db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
    int code = sqlite3_errcode(_db);
    std::string why = msg ? msg : sqlite3_errstr(code);
    sqlite3_free(msg);
    switch (code) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            error = _path +
                    ": the database is locked: another roost (or another program) has it open. Stop "
                    "that one, or give this broker its own file with the `path` option";
            break;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
            error = _path + ": not a SQLite database, or a corrupt one (" + why +
                    "). Move it away (the broker then starts with an empty store) or put back a backup";
            break;
        case SQLITE_READONLY:
            error = _path + ": the database is read-only (" + why +
                    "). Give the broker's user write access to the file and its directory, or choose "
                    "another `path`";
            break;
        case SQLITE_CANTOPEN:
            error = _path + ": cannot open the database or create its -wal file next to it (" + why +
                    "). The directory " + parent_dir(_path) + " must be writable by the broker's user";
            break;
        case SQLITE_FULL:
            error = _path + ": the disk is full (" + why + "). Free some space or choose another `path`";
            break;
        default:
            error = _path + ": " + why;
    }
    return false;
}

bool Database::open(const Options& o, std::string& error) {
    _path = o.path;
    std::string dir = parent_dir(_path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        error = _path + ": the directory " + dir + " does not exist. Create it (mkdir -p " + dir +
                ") or set the `path` option to a file in an existing directory";
        return false;
    }
    if (::stat(_path.c_str(), &st) == 0 && ::access(_path.c_str(), W_OK) != 0) {
        error = _path + ": the database is read-only. Give the broker's user write access (chmod u+w " +
                _path + ") or choose another `path`";
        return false;
    }
    int rc = sqlite3_open_v2(_path.c_str(), &_db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        error = _path + ": cannot open the database (" + std::string(sqlite3_errstr(rc)) +
                "). Check the file's and the directory's permissions";
        return false;
    }
    if (sqlite3_db_readonly(_db, "main") == 1) {
        error = _path +
                ": the database is read-only (the file or its file system). Give the broker's user "
                "write access or choose another `path`";
        return false;
    }
    sqlite3_extended_result_codes(_db, 0);
    // One broker per file: the exclusive locking mode keeps the lock from the first write on
    // (a second broker on the same file fails at once, below), and WAL needs no shared memory.
    // auto_vacuum must be set before the first table exists: it lets incremental_vacuum give
    // free pages back to the file system.
    if (!exec("PRAGMA locking_mode=EXCLUSIVE; PRAGMA auto_vacuum=INCREMENTAL;", error)) return false;
    if (!exec("PRAGMA journal_mode=WAL;", error)) return false;
    {
        // journal_mode answers with the mode it is in: anything but wal means it could not switch.
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(_db, "PRAGMA journal_mode", -1, &s, nullptr);
        bool wal = s && sqlite3_step(s) == SQLITE_ROW &&
                   std::strcmp(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal") == 0;
        sqlite3_finalize(s);
        if (!wal) {
            error = _path + ": could not switch the database to WAL mode. The directory " + dir +
                    " must be writable (the -wal file lives next to the database)";
            return false;
        }
    }
    const char* sync = o.sync == SyncMode::Full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
    if (!exec(sync, error)) return false;
    // The WAL file is truncated back to this after a checkpoint, so it does not keep its peak size.
    if (!exec("PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;",
              error))
        return false;
    if (o.max_size_bytes) {
        // The bound: pages past it are refused with SQLITE_FULL, which the writer treats as a full
        // disk (new QoS 1/2 messages refused, deletions still applied).
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(_db, "PRAGMA page_size", -1, &s, nullptr);
        int64_t page = s && sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 4096;
        sqlite3_finalize(s);
        std::string sql = "PRAGMA max_page_count=" + std::to_string(o.max_size_bytes / uint64_t(page)) + ";";
        if (!exec(sql.c_str(), error)) return false;
    }
    // The first write takes the exclusive lock, and reads the whole file's header: a locked or
    // foreign file fails here.
    if (!exec("BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL); COMMIT;",
              error))
        return false;
    {
        sqlite3_stmt* s = nullptr;
        sqlite3_prepare_v2(_db, "PRAGMA quick_check(1)", -1, &s, nullptr);
        std::string answer = s && sqlite3_step(s) == SQLITE_ROW
                                 ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0))
                                 : sqlite3_errmsg(_db);
        sqlite3_finalize(s);
        if (answer != "ok") {
            error = _path + ": the database is corrupt (quick_check: " + answer +
                    "). Move it away (the broker then starts with an empty store) or put back a backup";
            return false;
        }
    }
    return migrate(error) && prepare_all(error);
}

bool Database::migrate(std::string& error) {
    int version = 0;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(_db, "SELECT version FROM schema_version", -1, &s, nullptr) != SQLITE_OK)
        return exec("SELECT version FROM schema_version", error);
    if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > schema_version) {
        error = _path + ": written by a newer roost (schema version " + std::to_string(version) +
                ", this one knows up to " + std::to_string(schema_version) +
                "). Run that newer roost, or give this one another `path`";
        return false;
    }
    for (; version < schema_version; ++version) {
        std::string sql = std::string("BEGIN IMMEDIATE;") + migrations[version] +
                          "DELETE FROM schema_version;" + "INSERT INTO schema_version VALUES(" +
                          std::to_string(version + 1) + ");COMMIT;";
        if (!exec(sql.c_str(), error)) {
            exec("ROLLBACK", error);
            error =
                _path + ": migrating to schema version " + std::to_string(version + 1) + " failed: " + error;
            return false;
        }
    }
    return true;
}

sqlite3_stmt* Database::prepare(const char* sql, std::string& error) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
        error = _path + ": " + sqlite3_errmsg(_db) + " in: " + sql;
    return s;
}

bool Database::prepare_all(std::string& error) {
    struct {
        sqlite3_stmt** out;
        const char* sql;
    } all[] = {
        {&_begin, "BEGIN IMMEDIATE"},
        {&_commit, "COMMIT"},
        {&_rollback, "ROLLBACK"},
        {&_session_save, "INSERT OR REPLACE INTO sessions VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)"},
        {&_session_delete[0], "DELETE FROM sessions WHERE client_id=?1"},
        {&_session_delete[1], "DELETE FROM subscriptions WHERE client_id=?1"},
        {&_session_delete[2], "DELETE FROM deliveries WHERE client_id=?1"},
        {&_session_delete[3], "DELETE FROM incoming_qos2 WHERE client_id=?1"},
        {&_sub_save, "INSERT OR REPLACE INTO subscriptions VALUES(?1,?2,?3,?4,?5,?6,?7)"},
        {&_sub_delete, "DELETE FROM subscriptions WHERE client_id=?1 AND filter=?2"},
        {&_msg_store, "INSERT OR REPLACE INTO messages VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"},
        {&_msg_release, "DELETE FROM messages WHERE id=?1"},
        {&_delivery_save, "INSERT OR REPLACE INTO deliveries VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"},
        {&_delivery_delete, "DELETE FROM deliveries WHERE client_id=?1 AND sequence=?2"},
        {&_retained_set, "INSERT OR REPLACE INTO retained VALUES(?1,?2,?3,?4,?5,?6,?7)"},
        {&_retained_clear, "DELETE FROM retained WHERE topic=?1"},
        {&_qos2_save, "INSERT OR REPLACE INTO incoming_qos2 VALUES(?1,?2)"},
        {&_qos2_delete, "DELETE FROM incoming_qos2 WHERE client_id=?1 AND packet_id=?2"},
    };
    for (auto& a : all)
        if (!(*a.out = prepare(a.sql, error))) return false;
    return true;
}

int Database::step_reset(sqlite3_stmt* s) {
    if (s != _begin && s != _commit && s != _rollback) ++_statements;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int Database::begin() {
    return step_reset(_begin);
}
int Database::commit() {
    return step_reset(_commit);
}
void Database::rollback() {
    if (!sqlite3_get_autocommit(_db)) step_reset(_rollback);
    drop_index();
}

void Database::drop_index() {
    _indexed = false;
    _indexed_rows = 0;
    std::unordered_set<uint64_t>().swap(_message_rows);
    std::unordered_map<std::string, std::unordered_set<uint64_t>>().swap(_delivery_rows);
}

void Database::index_message(uint64_t id) {
    if (!_indexed) return;
    if (_message_rows.insert(id).second && ++_indexed_rows > kMaxIndexedRows) drop_index();
}

void Database::index_delivery(const std::string& client_id, uint64_t sequence) {
    if (!_indexed) return;
    if (_delivery_rows[client_id].insert(sequence).second && ++_indexed_rows > kMaxIndexedRows) drop_index();
}

int Database::apply(const Operation& op) {
    sqlite3_stmt* s = nullptr;
    switch (op.kind) {
        case OpKind::SessionSave:
            s = _session_save;
            bind_blob(s, 1, op.client_id);
            sqlite3_bind_int64(s, 2, op.expiry_interval);
            sqlite3_bind_int64(s, 3, op.disconnected_at_ms);
            if (op.has_will) {
                bind_blob(s, 4, op.msg.topic);
                bind_blob(s, 5, op.msg.payload);
                bind_blob(s, 6, op.msg.properties);
                sqlite3_bind_int(s, 7, op.msg.qos);
                sqlite3_bind_int(s, 8, op.msg.retain);
                sqlite3_bind_int64(s, 9, op.will_due_ms);
            }
            return step_reset(s);
        case OpKind::SessionDelete:
            if (_indexed)
                if (auto it = _delivery_rows.find(op.client_id); it != _delivery_rows.end()) {
                    _indexed_rows -= it->second.size();
                    _delivery_rows.erase(it);
                }
            for (sqlite3_stmt* d : _session_delete) {
                bind_blob(d, 1, op.client_id);
                if (int rc = step_reset(d); rc != SQLITE_OK) return rc;
            }
            return SQLITE_OK;
        case OpKind::SubscriptionSave:
            s = _sub_save;
            bind_blob(s, 1, op.client_id);
            bind_blob(s, 2, op.filter);
            sqlite3_bind_int(s, 3, op.qos);
            sqlite3_bind_int(s, 4, op.no_local);
            sqlite3_bind_int(s, 5, op.retain_as_published);
            sqlite3_bind_int(s, 6, op.retain_handling);
            sqlite3_bind_int64(s, 7, op.subscription_id);
            return step_reset(s);
        case OpKind::SubscriptionDelete:
            s = _sub_delete;
            bind_blob(s, 1, op.client_id);
            bind_blob(s, 2, op.filter);
            return step_reset(s);
        case OpKind::MessageStore:
        case OpKind::RetainedSet: {
            const StoredMessageCopy& m = op.msg;
            if (op.kind == OpKind::RetainedSet && m.payload.empty()) {
                bind_blob(_retained_clear, 1, m.topic);
                return step_reset(_retained_clear);
            }
            s = op.kind == OpKind::MessageStore ? _msg_store : _retained_set;
            if (op.kind == OpKind::MessageStore) {
                index_message(m.id);
                sqlite3_bind_int64(s, 1, int64_t(m.id));
                bind_blob(s, 2, m.topic);
                bind_blob(s, 3, m.payload);
                sqlite3_bind_int(s, 4, m.qos);
                sqlite3_bind_int(s, 5, m.retain);
                sqlite3_bind_int64(s, 6, m.expires_at_ms);
                bind_blob(s, 7, m.properties);
                bind_blob(s, 8, m.origin);
            } else {
                bind_blob(s, 1, m.topic);
                sqlite3_bind_int64(s, 2, int64_t(m.id));
                bind_blob(s, 3, m.payload);
                sqlite3_bind_int(s, 4, m.qos);
                sqlite3_bind_int64(s, 5, m.expires_at_ms);
                bind_blob(s, 6, m.properties);
                bind_blob(s, 7, m.origin);
            }
            return step_reset(s);
        }
        case OpKind::MessageRelease:
            if (_indexed) {
                if (_message_rows.erase(op.message_id) == 0) return SQLITE_OK;  // never written
                --_indexed_rows;
            }
            sqlite3_bind_int64(_msg_release, 1, int64_t(op.message_id));
            return step_reset(_msg_release);
        case OpKind::DeliverySave:
            index_delivery(op.client_id, op.sequence);
            s = _delivery_save;
            bind_blob(s, 1, op.client_id);
            sqlite3_bind_int64(s, 2, int64_t(op.sequence));
            sqlite3_bind_int64(s, 3, int64_t(op.message_id));
            sqlite3_bind_int(s, 4, op.packet_id);
            sqlite3_bind_int(s, 5, op.qos);
            sqlite3_bind_int(s, 6, op.retain);
            sqlite3_bind_int(s, 7, int(op.state));
            if (!op.subscription_ids.empty()) bind_blob(s, 8, op.subscription_ids);
            return step_reset(s);
        case OpKind::DeliveryDelete: {
            bool written = true;
            if (_indexed) {
                auto it = _delivery_rows.find(op.client_id);
                written = it != _delivery_rows.end() && it->second.erase(op.sequence) != 0;
                if (written) {
                    --_indexed_rows;
                    if (it->second.empty()) _delivery_rows.erase(it);
                }
            }
            if (written) {
                bind_blob(_delivery_delete, 1, op.client_id);
                sqlite3_bind_int64(_delivery_delete, 2, int64_t(op.sequence));
                if (int rc = step_reset(_delivery_delete); rc != SQLITE_OK) return rc;
            }
            if (!op.release) return SQLITE_OK;
            // message_delivery_delete: the message's release follows, as MessageRelease.
            if (_indexed) {
                if (_message_rows.erase(op.message_id) == 0) return SQLITE_OK;  // never written
                --_indexed_rows;
            }
            sqlite3_bind_int64(_msg_release, 1, int64_t(op.message_id));
            return step_reset(_msg_release);
        }
        case OpKind::Qos2Save:
        case OpKind::Qos2Delete:
            s = op.kind == OpKind::Qos2Save ? _qos2_save : _qos2_delete;
            bind_blob(s, 1, op.client_id);
            sqlite3_bind_int(s, 2, op.packet_id);
            return step_reset(s);
    }
    return SQLITE_MISUSE;
}

uint64_t Database::size_bytes() {
    sqlite3_stmt* s = nullptr;
    uint64_t out = 0;
    if (sqlite3_prepare_v2(_db, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size", -1,
                           &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        out = uint64_t(sqlite3_column_int64(s, 0));
    sqlite3_finalize(s);
    return out;
}

void Database::vacuum_if_worthwhile() {
    // Free pages are reused by later inserts anyway; past a quarter of the file (and 1 MB) they
    // go back to the file system, a bounded number at a time so one commit stays short.
    sqlite3_stmt* s = nullptr;
    int64_t free_pages = 0, pages = 0;
    if (sqlite3_prepare_v2(_db, "SELECT * FROM pragma_freelist_count, pragma_page_count", -1, &s, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        free_pages = sqlite3_column_int64(s, 0);
        pages = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    if (free_pages < 256 || free_pages * 4 < pages) return;
    std::string ignored;
    exec("PRAGMA incremental_vacuum(2048)", ignored);
}

int Database::restore(const roost_restore_sink& sink, std::string& error) {
    const int64_t now = now_ms();
    // What the broker would drop anyway: expired messages (with their deliveries) and rows that
    // lost what they refer to (a crash between two commits cannot cause these, a file edited by
    // hand or by an older release could).
    std::string sql =
        "BEGIN IMMEDIATE;"
        "DELETE FROM retained WHERE expires_at != 0 AND expires_at <= " +
        std::to_string(now) +
        ";"
        "DELETE FROM messages WHERE expires_at != 0 AND expires_at <= " +
        std::to_string(now) +
        ";"
        "DELETE FROM deliveries WHERE message_id NOT IN (SELECT id FROM messages)"
        " OR client_id NOT IN (SELECT client_id FROM sessions);"
        "DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries);"
        "DELETE FROM subscriptions WHERE client_id NOT IN (SELECT client_id FROM sessions);"
        "DELETE FROM incoming_qos2 WHERE client_id NOT IN (SELECT client_id FROM sessions);"
        "COMMIT;";
    if (!exec(sql.c_str(), error)) return ROOST_EINVAL;

    auto each = [&](const char* query, auto&& row) -> int {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(_db, query, -1, &s, nullptr) != SQLITE_OK) {
            error = _path + ": " + sqlite3_errmsg(_db);
            return ROOST_EINVAL;
        }
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            row(s);
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            error = _path + ": reading the store: " + sqlite3_errmsg(_db);
            return ROOST_EINVAL;
        }
        return ROOST_OK;
    };
    auto message_of = [](sqlite3_stmt* s, int topic, int payload, int props, int origin) {
        roost_stored_message m{};
        m.struct_size = sizeof m;
        m.topic = column_bytes(s, topic);
        m.payload = column_bytes(s, payload);
        m.properties = column_bytes(s, props);
        m.origin_client_id = column_bytes(s, origin);
        return m;
    };
    int refused = 0;
    int rc = each("SELECT id, topic, payload, qos, retain, expires_at, properties, origin FROM messages",
                  [&](sqlite3_stmt* s) {
                      roost_stored_message m = message_of(s, 1, 2, 6, 7);
                      m.id = uint64_t(sqlite3_column_int64(s, 0));
                      m.qos = uint8_t(sqlite3_column_int(s, 3));
                      m.retain = uint8_t(sqlite3_column_int(s, 4));
                      m.expires_at_ms = sqlite3_column_int64(s, 5);
                      index_message(m.id);  // the row is there, whatever the broker makes of it
                      if (sink.message(sink.ctx, &m) < 0) ++refused;
                  });
    if (rc == ROOST_OK)
        rc = each("SELECT topic, id, payload, qos, expires_at, properties, origin FROM retained",
                  [&](sqlite3_stmt* s) {
                      roost_stored_message m = message_of(s, 0, 2, 5, 6);
                      m.id = uint64_t(sqlite3_column_int64(s, 1));
                      m.qos = uint8_t(sqlite3_column_int(s, 3));
                      m.retain = 1;
                      m.expires_at_ms = sqlite3_column_int64(s, 4);
                      if (sink.retained(sink.ctx, &m) < 0) ++refused;
                  });
    if (rc == ROOST_OK)
        rc = each(
            "SELECT client_id, expiry, disconnected_at, will_topic, will_payload, will_properties, will_qos, "
            "will_retain, will_due FROM sessions",
            [&](sqlite3_stmt* s) {
                roost_session_record r{};
                r.struct_size = sizeof r;
                r.client_id = column_bytes(s, 0);
                r.expiry_interval = uint32_t(sqlite3_column_int64(s, 1));
                r.disconnected_at_ms = sqlite3_column_int64(s, 2);
                roost_stored_message will{};
                if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
                    will = message_of(s, 3, 4, 5, 5);
                    will.origin_client_id = {};
                    will.qos = uint8_t(sqlite3_column_int(s, 6));
                    will.retain = uint8_t(sqlite3_column_int(s, 7));
                    r.will = &will;
                    r.will_due_ms = sqlite3_column_int64(s, 8);
                }
                if (sink.session(sink.ctx, &r) < 0) ++refused;
            });
    if (rc == ROOST_OK)
        rc = each(
            "SELECT client_id, filter, qos, no_local, retain_as_published, retain_handling, subscription_id "
            "FROM subscriptions",
            [&](sqlite3_stmt* s) {
                roost_subscription_record r{};
                r.struct_size = sizeof r;
                r.client_id = column_bytes(s, 0);
                r.filter = column_bytes(s, 1);
                r.qos = uint8_t(sqlite3_column_int(s, 2));
                r.no_local = uint8_t(sqlite3_column_int(s, 3));
                r.retain_as_published = uint8_t(sqlite3_column_int(s, 4));
                r.retain_handling = uint8_t(sqlite3_column_int(s, 5));
                r.subscription_id = uint32_t(sqlite3_column_int64(s, 6));
                if (sink.subscription(sink.ctx, &r) < 0) ++refused;
            });
    if (rc == ROOST_OK)
        rc = each(
            "SELECT client_id, sequence, message_id, packet_id, qos, retain, state, subscription_ids FROM "
            "deliveries ORDER BY client_id, sequence",
            [&](sqlite3_stmt* s) {
                roost_delivery_record d{};
                d.struct_size = sizeof d;
                d.client_id = column_bytes(s, 0);
                d.sequence = uint64_t(sqlite3_column_int64(s, 1));
                d.message_id = uint64_t(sqlite3_column_int64(s, 2));
                d.packet_id = uint16_t(sqlite3_column_int(s, 3));
                d.qos = uint8_t(sqlite3_column_int(s, 4));
                d.retain = uint8_t(sqlite3_column_int(s, 5));
                d.state = uint32_t(sqlite3_column_int(s, 6));
                index_delivery(d.client_id.data ? std::string(reinterpret_cast<const char*>(d.client_id.data),
                                                              d.client_id.len)
                                                : std::string(),
                               d.sequence);
                std::vector<uint32_t> ids(size_t(sqlite3_column_bytes(s, 7)) / sizeof(uint32_t));
                if (!ids.empty())
                    std::memcpy(ids.data(), sqlite3_column_blob(s, 7), ids.size() * sizeof(uint32_t));
                d.subscription_ids = ids.data();
                d.subscription_id_count = ids.size();
                if (sink.delivery(sink.ctx, &d) < 0) ++refused;
            });
    if (rc == ROOST_OK && ROOST_HAS(&sink, roost_restore_sink, incoming_qos2) && sink.incoming_qos2)
        rc = each("SELECT client_id, packet_id FROM incoming_qos2", [&](sqlite3_stmt* s) {
            if (sink.incoming_qos2(sink.ctx, column_bytes(s, 0), uint16_t(sqlite3_column_int(s, 1))) < 0)
                ++refused;
        });
    if (rc == ROOST_OK && refused) error = std::to_string(refused) + " records were refused by the broker";
    return rc;
}

}  // namespace roost_sqlite
