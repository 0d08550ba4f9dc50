/** VmStatus's fields in the order a `status` reply has always shown them (src/protocol/types.ts). */
export const STATUS_KEYS = [
  'name', 'state', 'pid', 'workerPid', 'restarts', 'lastExit', 'failureReason', 'owner', 'group',
  'description', 'os', 'osversion', 'autostart', 'since', 'configFile', 'configPending',
];
