/** Binding a Unix socket that only its owner may connect to, from the moment it exists. */
import type net from 'node:net';

/**
 * Listens on `address` with the socket file created mode 0600: bind(2) creates it under the
 * umask, so there is no moment, as with a chmod after listen(), when another user can connect.
 * (Node binds within listen(), before it returns: the umask is back right after.)
 */
export async function listenPrivate(server: net.Server, address: string): Promise<void> {
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
}
