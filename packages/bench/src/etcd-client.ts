import { noop } from 'cockatiel'
import { Etcd3 } from 'etcd3'

/**
 * Opens an etcd3 client on `hosts` with retries and circuit breakers turned off (a failed call
 * fails once, so benchmarks count errors instead of hiding them). The caller closes it.
 */
export function openEtcdClient(hosts: string[]): Etcd3 {
  return new Etcd3({
    hosts,
    faultHandling: { host: () => noop, global: noop },
  })
}

/** Runs `fn` with a client opened by {@link openEtcdClient} on `hosts`, closing it afterwards. */
export async function withEtcdClient<T>(hosts: string[], fn: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = openEtcdClient(hosts)
  try {
    return await fn(client)
  } finally {
    client.close()
  }
}

/** No member reports a leader that is one of the given endpoints. */
export class EtcdNoLeaderError extends Error {
  /** Creates the error, listing what each endpoint answered. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EtcdNoLeaderError'
  }
}

/**
 * Returns the client URL of the current leader among `endpoints`, asking every member for its
 * status (Maintenance Status API: its own member id and the leader it knows) within `timeoutMs`.
 * Throws {@link EtcdNoLeaderError} when there is no leader or it is not among `endpoints`.
 */
export async function findEtcdLeader(endpoints: string[], timeoutMs = 2_000): Promise<string> {
  const statuses = await Promise.all(
    endpoints.map((endpoint) =>
      withEtcdClient([endpoint], (client) => client.maintenance.status({ deadline: Date.now() + timeoutMs })).then(
        (status) => ({ endpoint, memberId: status.header.member_id, leader: status.leader }),
        (err: unknown) => ({ endpoint, error: err }),
      ),
    ),
  )
  const byMember = new Map<string, string>()
  const leaders = new Set<string>()
  for (const s of statuses) {
    if ('memberId' in s) {
      byMember.set(s.memberId, s.endpoint)
      if (s.leader !== '0' && s.leader !== '') leaders.add(s.leader)
    }
  }
  for (const leader of leaders) {
    const endpoint = byMember.get(leader)
    if (endpoint !== undefined) return endpoint
  }
  const answers = statuses.map((s) => ('memberId' in s ? `${s.endpoint}: leader ${s.leader}` : `${s.endpoint}: ${String(s.error)}`))
  throw new EtcdNoLeaderError(`no etcd leader among the endpoints (${answers.join('; ')})`)
}
