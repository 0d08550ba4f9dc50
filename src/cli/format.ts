/** Plain-text rendering helpers for vmstatedctl's tables and figures. */

/**
 * Left-aligned columns separated by two spaces; the last column is not padded. `decorate` may wrap
 * a body cell (in colour escapes, say) after its width was measured, so the columns stay aligned.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  decorate: (cell: string, column: number) => string = (cell) => cell,
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (cells: readonly string[], body: boolean): string =>
    cells
      .map((cell, column) => {
        const padding = column === cells.length - 1 ? '' : ' '.repeat(widths[column]! - cell.length);
        return (body && cell !== '' ? decorate(cell, column) : cell) + padding;
      })
      .join('  ')
      .trimEnd();
  return [render(headers, false), ...rows.map((row) => render(row, true))].join('\n');
}

/** A duration like uptime(1) would say it, compactly: 42s, 5m03s, 2h05m, 3d04h. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const secs = seconds % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (days > 0) return `${days}d${two(hours)}h`;
  if (hours > 0) return `${hours}h${two(minutes)}m`;
  if (minutes > 0) return `${minutes}m${two(secs)}s`;
  return `${secs}s`;
}

/** Bytes in binary units with one decimal: 512.0K, 1.5M, 4.0G. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(1)}${units[unit]}`;
}

/** A percentage with one decimal, or '-' when unknown. */
export function formatPercent(percent: number | null): string {
  return percent === null ? '-' : `${percent.toFixed(1)}%`;
}
