import { ControlCommand, describe } from '../src/cli/base-command.js';

/** The `metrics` reply: the exposition text and its HTTP content type. */
interface MetricsReply {
  contentType: string;
  text: string;
}

export default class Metrics extends ControlCommand {
  static override summary = "Print vmstated's Prometheus metrics (the text its metrics listener serves).";
  static override description = describe(
    'Prints the metrics in the Prometheus text format, as `vmstated --metrics-listen` serves them at ' +
      '/metrics: the same names and labels (vmstated(8), METRICS). root sees every VM and the daemon\'s own ' +
      'metrics; another user sees only the series of the VMs they may see. For node_exporter\'s textfile ' +
      'collector, write the output to a temporary file and rename it into the collector\'s directory, so the ' +
      'collector never reads half a file.',
    'With --json, the reply is printed as it is: {contentType, text}.',
  );
  static override examples = [
    '<%= config.bin %> metrics',
    '<%= config.bin %> metrics | grep vmstated_vm_state',
    '<%= config.bin %> metrics > /var/tmp/node_exporter/vmstated.prom.$$ && mv /var/tmp/node_exporter/vmstated.prom.$$ /var/tmp/node_exporter/vmstated.prom',
  ];

  async run(): Promise<void> {
    const { flags } = await this.parse(Metrics);
    const connection = await this.connect(flags.socket);
    const reply = await this.quickRequest<MetricsReply>(connection, 'metrics');
    if (flags.json) this.printJson(reply);
    else process.stdout.write(reply.text);
  }
}
