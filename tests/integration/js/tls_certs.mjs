// Certificates for the wss:// tests, made with the `openssl` CLI into a test's folder: a CA, and
// a server certificate from it for 127.0.0.1 and localhost. Also the SHA-256 of the server key's
// SubjectPublicKeyInfo (base64), which chromium's --ignore-certificate-errors-spki-list takes
// to trust exactly this certificate.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function openssl(args, input) {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 20000 });
}

export function makeCerts(dir) {
  const p = (name) => path.join(dir, name);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=roost-ws-test-ca']);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost']);
  fs.writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' +
    'extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
    '-CAcreateserial', '-out', p('server.crt'), '-days', '2', '-extfile', p('server.ext')]);
  const spkiDer = openssl(['pkey', '-in', p('server.key'), '-pubout', '-outform', 'DER']);
  const spki = openssl(['dgst', '-sha256', '-binary'], spkiDer).toString('base64');
  return { ca: p('ca.crt'), cert: p('server.crt'), key: p('server.key'), caPem: fs.readFileSync(p('ca.crt')), spki };
}
