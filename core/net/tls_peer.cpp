#include "net/tls_peer.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

namespace roost::net {
namespace {

std::string bio_text(BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string asn1_utf8(const ASN1_STRING* s) {
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0) return {};
    std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
    return out;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
    char buf[INET6_ADDRSTRLEN] = "";
    const unsigned char* data = ASN1_STRING_get0_data(ip);
    int len = ASN1_STRING_length(ip);
    if (len == 4) inet_ntop(AF_INET, data, buf, sizeof buf);
    if (len == 16) inet_ntop(AF_INET6, data, buf, sizeof buf);
    return buf;
}

// One SAN as "TYPE:value", or "" for the types we do not show (otherName, x400, dirName, ...).
std::string general_name(const GENERAL_NAME* gn, bool with_type) {
    switch (gn->type) {
        case GEN_DNS:
            return (with_type ? "DNS:" : "") + asn1_utf8(gn->d.dNSName);
        case GEN_EMAIL:
            return (with_type ? "email:" : "") + asn1_utf8(gn->d.rfc822Name);
        case GEN_URI:
            return (with_type ? "URI:" : "") + asn1_utf8(gn->d.uniformResourceIdentifier);
        case GEN_IPADD:
            return with_type ? "IP:" + ip_text(gn->d.iPAddress) : std::string();
        default:
            return {};
    }
}

template <typename Fn>
void each_san(const X509* cert, Fn fn) {
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i)
        if (!fn(sk_GENERAL_NAME_value(names, i))) break;
    GENERAL_NAMES_free(names);
}

}  // namespace

std::string name_rfc4514(const X509_NAME* name) {
    if (!name) return {};
    BIO* b = BIO_new(BIO_s_mem());
    if (!b) return {};
    // XN_FLAG_RFC2253 is RFC 4514's predecessor with the same output: reversed order, escaped
    // specials, UTF-8 kept as UTF-8 (ESC_MSB off).
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    std::string text = bio_text(b);
    BIO_free(b);
    return text;
}

std::string serial_hex(const X509* cert) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    BIGNUM* bn = serial ? ASN1_INTEGER_to_BN(serial, nullptr) : nullptr;
    if (!bn) return {};
    char* hex = BN_bn2hex(bn);
    std::string out = hex ? hex : "";
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
}

std::string subject_alt_names(const X509* cert) {
    std::string out;
    each_san(cert, [&](const GENERAL_NAME* gn) {
        std::string one = general_name(gn, true);
        if (!one.empty()) out += (out.empty() ? "" : ",") + one;
        return true;
    });
    return out;
}

std::vector<std::pair<std::string, std::string>> tls_attributes(const SSL* ssl) {
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("tls.version", SSL_get_version(ssl));
    if (const char* cipher = SSL_get_cipher_name(ssl)) out.emplace_back("tls.cipher", cipher);
    if (const X509* cert = SSL_get0_peer_certificate(ssl)) {
        out.emplace_back("tls.peer.subject", name_rfc4514(X509_get_subject_name(cert)));
        out.emplace_back("tls.peer.issuer", name_rfc4514(X509_get_issuer_name(cert)));
        out.emplace_back("tls.peer.san", subject_alt_names(cert));
        out.emplace_back("tls.peer.serial", serial_hex(cert));
    }
    return out;
}

std::string tls_identity(const SSL* ssl, TlsIdentity which) {
    const X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert || which == TlsIdentity::None) return {};
    if (which == TlsIdentity::CommonName) {
        const X509_NAME* subject = X509_get_subject_name(cert);
        int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (i < 0) return {};
        return asn1_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    }
    std::string first;
    each_san(cert, [&](const GENERAL_NAME* gn) {
        first = general_name(gn, false);
        return first.empty();
    });
    return first;
}

}  // namespace roost::net
