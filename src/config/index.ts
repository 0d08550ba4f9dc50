/** The VM configuration model: loading, checking and generating bhyve configs. */
export type { ConfigDirLoad, ConfigProblem, ProblemSeverity, RejectedVm, VmConfig } from './types.js';
export { loadConfigDir, loadVmConfig, type VmConfigLoad } from './load.js';
export { checkConfigDir, type ConfigCheck } from './check.js';
export { formatProblem } from './format.js';
export { generatedConfigPath, generatedConfigText, writeGeneratedConfig } from './generated.js';
