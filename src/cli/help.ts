/**
 * vmstatedctl's help (package.json `oclif.helpClass`): oclif's, plus the global flags on the root
 * page, which oclif lists only under each command. Loaded only when help is shown.
 */
import { Help } from '@oclif/core/help';
import { ControlCommand } from './base-command.js';

interface GlobalFlag {
  char?: string;
  summary?: string;
  helpValue?: string | string[];
  env?: string;
  default?: unknown;
  type: string;
}

/** `-s, --socket=<sockpath>`, `--json`. */
function flagLabel(name: string, flag: GlobalFlag): string {
  const value = flag.type === 'option' ? `=${String(flag.helpValue ?? `<${name}>`)}` : '';
  return `${flag.char === undefined ? '    ' : `-${flag.char}, `}--${name}${value}`;
}

/** As oclif words a flag under a command: `[default: x, env: Y] Summary.` */
function flagText(flag: GlobalFlag): string {
  const notes = [
    ...(flag.type === 'option' && typeof flag.default === 'string' ? [`default: ${flag.default}`] : []),
    ...(flag.env === undefined ? [] : [`env: ${flag.env}`]),
  ];
  return `${notes.length > 0 ? `[${notes.join(', ')}] ` : ''}${flag.summary ?? ''}`;
}

export class VmstatedctlHelp extends Help {
  override formatRoot(): string {
    const flags = Object.entries(ControlCommand.baseFlags as Record<string, GlobalFlag>).map(([name, flag]): [string, string] => [flagLabel(name, flag), flagText(flag)]);
    const globalFlags = this.section('GLOBAL FLAGS (before or after the command)', flags);
    return `${super.formatRoot()}\n\n${globalFlags}`;
  }
}
