// Socket addresses as people read them: "127.0.0.1:1883", "[::1]:1883".
#pragma once
#include <sys/socket.h>

#include <string>

namespace roost::net {

std::string format_address(const sockaddr_storage& addr);

}  // namespace roost::net
