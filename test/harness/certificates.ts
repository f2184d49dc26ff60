// Throwaway certificates for TLS tests, made with the openssl command.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';

/**
 * Write `<name>.key` and `<name>.crt` into `dir`: a self-signed CA when `ca`
 * is undefined, else a certificate signed by `<ca>.crt` for `subject`, for a
 * server (with subjectAltName `san`) or, without `san`, a client.
 */
export async function issue(dir: string, name: string, ca: string | undefined, subject: string, san?: string): Promise<void> {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  if (!ca) {
    await run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${subject}`, '-keyout', key, '-out', crt]);
    return;
  }
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await run(['openssl', 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${subject}`, '-keyout', key, '-out', csr]);
  await writeFile(ext, `${san ? `subjectAltName=${san}` : 'extendedKeyUsage=clientAuth'}\n`);
  await run(['openssl', 'x509', '-req', '-in', csr, '-CA', join(dir, `${ca}.crt`), '-CAkey', join(dir, `${ca}.key`), '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', crt]);
}
