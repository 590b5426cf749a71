// Static files from http_dir over plain HTTP GET on the WebSocket listener (the page the broker
// serves): percent-decoded paths, no way out of the directory (no "..", no NUL, no hidden
// files, symlinks followed only while they stay inside), a content type by extension.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "http_request.hpp"

namespace roost_ws {

struct StaticFile {
    int status = 0;      // 200, 301, or an error (400, 404)
    std::string head;    // the response head; for anything but 200 the whole response
    int fd = -1;         // GET with 200: the open file to stream (the caller closes it); else -1
    uint64_t size = 0;   // its length
    std::string reason;  // why, for an error (the log)
    std::string file;    // the file served (for the log)
};

// `root` is http_dir as options.hpp resolved it (absolute, no symlinks).
StaticFile open_static(const std::string& root, const HttpRequest& request);
// "text/html; charset=utf-8" for "index.html", ...; application/octet-stream when unknown.
const char* content_type(std::string_view path);

}  // namespace roost_ws
