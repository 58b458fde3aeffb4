// The certificates directory the CLI's connections use (`--certs-dir`, else $MRDB_CERTS_DIR):
// set once before a command runs, read by whatever dials a node. Plain data, so the command
// tree loads no TLS or gRPC code.

let dir: string | undefined

/** Sets the directory for this process's connections (undefined: plaintext). */
export function useCertsDir(d: string | undefined): void {
  dir = d
}

/** The certificates directory, if connections use TLS. */
export function certsDir(): string | undefined {
  return dir
}
