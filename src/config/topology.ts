/**
 * bhyve's vCPU topology rule (bhyverun.c, calc_topology): cores and threads default to 1, sockets
 * defaults to cpus, and an explicit cpus must equal sockets * cores * threads, or bhyve exits 4.
 * The generated file is the bhyve config file plus the UCL settings, so the check merges both.
 */

export const TOPOLOGY_KEYS = ['cpus', 'sockets', 'cores', 'threads'] as const;
export type TopologyKey = (typeof TOPOLOGY_KEYS)[number];
export type Topology = Partial<Record<TopologyKey, number>>;

const MAX_VCPUS = 65535;

/**
 * Why the topology that bhyve will see is refused, or undefined when bhyve accepts it.
 * `fromConfig` holds the UCL settings; `bhyveFile` the bhyve config file's assignments and its name.
 */
export function topologyMismatch(
  fromConfig: Topology,
  bhyveFile: { name: string; values: Map<string, string> },
): string | undefined {
  const effective: Topology = {};
  const notes: string[] = [];
  for (const key of TOPOLOGY_KEYS) {
    const own = fromConfig[key];
    if (own !== undefined) {
      effective[key] = own;
      continue;
    }
    const inFile = bhyveFile.values.get(key);
    if (inFile === undefined) continue;
    if (!/^\d+$/.test(inFile)) return undefined; // bhyve reports its own bad line
    effective[key] = Number(inFile);
    notes.push(`${key}=${inFile} from ${bhyveFile.name}`);
  }
  if (effective.cpus === undefined) return undefined; // bhyve derives cpus from the topology
  const cores = effective.cores ?? 1;
  const threads = effective.threads ?? 1;
  const sockets = effective.sockets ?? effective.cpus;
  if (effective.sockets === undefined) notes.push('sockets not set: bhyve uses cpus');
  const product = sockets * cores * threads;
  if (product === effective.cpus && product <= MAX_VCPUS) return undefined;
  const detail = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  return `cpus = ${effective.cpus} does not match the topology: ${sockets} sockets × ${cores} cores × ` +
    `${threads} threads = ${product}${detail}; bhyve would refuse to start (exit status 4)`;
}
