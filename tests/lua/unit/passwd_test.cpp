// Mosquitto password hashes: vectors made by Debian 12's mosquitto_passwd (2.0.11), and a file
// made by it during the test when it is installed.
#include <doctest/doctest.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "passwd.hpp"

using namespace roost_lua;

TEST_CASE("passwd_verify: $7$ (PBKDF2-SHA512, 101 iterations) from mosquitto_passwd") {
    // mosquitto_passwd -c -b file alice secret
    const char* hash =
        "$7$101$L8OemhyhcvitKI8F$fL/7eGKUPVD41n3JkPY+SbXoNIEYOGaTv3/Oa5gCnCBmkKO985SM7B52mJ6/3yqK/"
        "sj1MGndGEVtcrxmZ2hpLg==";
    CHECK(passwd_verify(hash, "secret") == PasswdCheck::match);
    CHECK(passwd_verify(hash, "Secret") == PasswdCheck::mismatch);
    CHECK(passwd_verify(hash, "") == PasswdCheck::mismatch);
    CHECK(passwd_verify(hash, "secret ") == PasswdCheck::mismatch);
}

TEST_CASE("passwd_verify: $6$ (salted SHA-512) from mosquitto_passwd -H sha512") {
    // mosquitto_passwd -H sha512 -c -b file bob hunter2
    const char* hash =
        "$6$ZkcpWBSG43m/Cbru$24HTOuLNAvmNyphNhbf9+ekvXGve1HEgHFnD7+XSeQEf5fpeTtDnU/"
        "gSRngemNdncXwEQnrkXGdnDNvnYBgwIg==";
    CHECK(passwd_verify(hash, "hunter2") == PasswdCheck::match);
    CHECK(passwd_verify(hash, "hunter3") == PasswdCheck::mismatch);
}

TEST_CASE("passwd_verify: what is not a hash") {
    CHECK(passwd_verify("", "x") == PasswdCheck::bad_format);
    CHECK(passwd_verify("plain", "plain") == PasswdCheck::bad_format);
    CHECK(passwd_verify("$7$abc$c2FsdA==$aGFzaA==", "x") == PasswdCheck::bad_format);
    CHECK(passwd_verify("$7$0$c2FsdA==$aGFzaA==", "x") == PasswdCheck::bad_format);
    CHECK(passwd_verify("$7$101$not base64!$aGFzaA==", "x") == PasswdCheck::bad_format);
    CHECK(passwd_verify("$6$c2FsdA==$c2hvcnQ=", "x") == PasswdCheck::bad_format);  // hash not 64 bytes
    CHECK(passwd_verify("$5$a$b", "x") == PasswdCheck::bad_format);
}

TEST_CASE("passwd_verify: the PBKDF2 iteration count is bounded (each check holds a worker)") {
    // OWASP's 2023 count for PBKDF2-HMAC-SHA512 (210,000) is within the bound.
    const char* owasp =
        "$7$200000$MDEyMzQ1Njc4OWFiY2RlZg==$jnFWwFADsSWSos/slmbPc2OdnFHJ8tDan2eNOZHPRrktoEyzeJ000C+g/"
        "LO3Ri43JMPo8suhQGTxufc40cgyHA==";
    CHECK(passwd_verify(owasp, "secret") == PasswdCheck::match);
    CHECK(passwd_iterations(owasp) == 200000);
    // Past it: refused without hashing. Before, 10,000,000 was accepted: 5-10 s per CONNECT.
    const auto start = std::chrono::steady_clock::now();
    CHECK(passwd_verify("$7$10000000$MDEyMzQ1Njc4OWFiY2RlZg==$aGFzaA==", "x") == PasswdCheck::too_costly);
    CHECK(passwd_verify("$7$1000001$MDEyMzQ1Njc4OWFiY2RlZg==$aGFzaA==", "x") == PasswdCheck::too_costly);
    CHECK(passwd_verify("$7$999999999999$MDEyMzQ1Njc4OWFiY2RlZg==$aGFzaA==", "x") == PasswdCheck::too_costly);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100));
    CHECK(passwd_iterations("$7$1000001$a$b") == 1000001);
    CHECK(passwd_iterations("$6$a$b") == 0);
    // Digits only (strtol took "+101" and " 101"); no overflow on a long count.
    CHECK(passwd_verify("$7$+101$c2FsdA==$aGFzaA==", "x") == PasswdCheck::bad_format);
    CHECK(passwd_verify("$7$ 101$c2FsdA==$aGFzaA==", "x") == PasswdCheck::bad_format);
    CHECK(passwd_verify("$7$99999999999999999999$c2FsdA==$aGFzaA==", "x") == PasswdCheck::bad_format);
}

TEST_CASE("passwd_parse: lines, comments, bad lines") {
    std::vector<int> bad;
    auto e = passwd_parse("# users\nalice:$7$1$a$b\r\n\nnocolon\n:empty\nbob:$6$x$y", &bad);
    REQUIRE(e.size() == 2);
    CHECK(e[0].user == "alice");
    CHECK(e[0].hash == "$7$1$a$b");
    CHECK(e[1].user == "bob");
    CHECK(bad == std::vector<int>{4, 5});
}

TEST_CASE("a password file made by mosquitto_passwd now, with several users") {
    if (std::system("command -v mosquitto_passwd >/dev/null 2>&1") != 0) {
        MESSAGE("mosquitto_passwd is not installed (Debian package mosquitto): skipped");
        return;
    }
    std::string path = "/tmp/roost-lua-passwd-" + std::to_string(getpid());
    std::string cmd = "mosquitto_passwd -c -b " + path + " alice 'correct horse' && mosquitto_passwd -b " +
                      path + " bob 'b0b:with:colons' && mosquitto_passwd -H sha512 -b " + path +
                      " carol 'é ü'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(path.c_str());
    auto entries = passwd_parse(text.str());
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].hash.rfind("$7$", 0) == 0);
    CHECK(passwd_verify(entries[0].hash, "correct horse") == PasswdCheck::match);
    CHECK(passwd_verify(entries[0].hash, "correct horse!") == PasswdCheck::mismatch);
    CHECK(passwd_verify(entries[1].hash, "b0b:with:colons") == PasswdCheck::match);
    CHECK(entries[2].hash.rfind("$6$", 0) == 0);
    CHECK(passwd_verify(entries[2].hash, "é ü") == PasswdCheck::match);
    CHECK(passwd_verify(entries[2].hash, "e u") == PasswdCheck::mismatch);
}
