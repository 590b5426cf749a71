#include "static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

#include "handshake.hpp"

namespace roost_ws {
namespace {
StaticFile refuse(int status, std::string reason) {
    StaticFile f;
    f.status = status;
    f.head = http_error(status, status == 404 ? "not found" : reason);
    f.reason = std::move(reason);
    return f;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

const char* content_type(std::string_view path) {
    struct Type {
        std::string_view ext;
        const char* type;
    };
    static constexpr Type kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".wasm", "application/wasm"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
    };
    for (const Type& t : kTypes)
        if (ends_with(path, t.ext)) return t.type;
    return "application/octet-stream";
}

StaticFile open_static(const std::string& root, const HttpRequest& request) {
    std::string decoded;
    if (!percent_decode(request.path, decoded)) return refuse(400, "malformed percent-encoding in the path");
    if (decoded.find('\0') != std::string::npos) return refuse(400, "NUL in the path");
    if (decoded.find('\\') != std::string::npos) return refuse(400, "backslash in the path");
    // Segment by segment: ".." is refused outright rather than resolved, hidden names are not
    // served (.git, .env, .htpasswd).
    std::string relative;
    size_t pos = 0;
    while (pos <= decoded.size()) {
        size_t slash = decoded.find('/', pos);
        std::string_view seg = std::string_view(decoded).substr(
            pos, slash == std::string::npos ? std::string::npos : slash - pos);
        if (seg == "..") return refuse(400, "'..' in the path");
        if (!seg.empty() && seg != ".") {
            if (seg[0] == '.') return refuse(404, "hidden file");
            relative += "/";
            relative += seg;
        }
        if (slash == std::string::npos) break;
        pos = slash + 1;
    }
    bool wants_dir = decoded.empty() || decoded.back() == '/';
    std::string candidate = root + relative + (wants_dir ? "/index.html" : "");
    char resolved[PATH_MAX];
    if (!realpath(candidate.c_str(), resolved)) return refuse(404, "no such file");
    std::string real = resolved;
    // A symlink may point anywhere: what it resolves to must still be inside the root.
    if (real != root && real.compare(0, root.size() + 1, root + "/") != 0)
        return refuse(404, "resolves outside http_dir (" + real + ")");
    struct stat st;
    if (stat(real.c_str(), &st) != 0) return refuse(404, "no such file");
    if (S_ISDIR(st.st_mode)) {
        if (wants_dir) return refuse(404, "directory without index.html");
        StaticFile f;
        f.status = 301;
        // One leading slash, whatever was sent: "//host" would send the browser elsewhere.
        std::string_view path = request.path;
        while (!path.empty() && path.front() == '/')
            path.remove_prefix(1);
        std::string location = "/" + std::string(path) + "/";
        f.head = "HTTP/1.1 301 Moved Permanently\r\nLocation: " + location +
                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        return f;
    }
    if (!S_ISREG(st.st_mode)) return refuse(404, "not a regular file");
    StaticFile f;
    f.status = 200;
    f.size = static_cast<uint64_t>(st.st_size);
    f.file = real;
    f.head = "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(content_type(real)) +
             "\r\nContent-Length: " + std::to_string(f.size) +
             "\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    if (request.method == "GET") {
        f.fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (f.fd < 0) return refuse(404, "cannot open the file");
    }
    return f;
}

}  // namespace roost_ws
