// One table for every figure of the run: value, target, verdict; the same rows go to latest.json.

export interface Row {
  section: string;
  figure: string;
  value: number | null;
  unit: string;
  /** e.g. ">= 0.9"; null when the figure is only reported. */
  target: string | null;
  met: boolean | null;
}

export function row(section: string, figure: string, value: number | null, unit: string, target?: { op: '>=' | '<='; bound: number }): Row {
  if (!target || value === null || Number.isNaN(value)) return { section, figure, value, unit, target: target ? `${target.op} ${target.bound}` : null, met: null };
  const met = target.op === '>=' ? value >= target.bound : value <= target.bound;
  return { section, figure, value, unit, target: `${target.op} ${target.bound}`, met };
}

export function printTable(rows: Row[]): void {
  let section = '';
  const width = Math.max(...rows.map((r) => r.figure.length));
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      console.log(`\n== ${section}`);
    }
    const value = r.value === null || Number.isNaN(r.value) ? 'n/a' : format(r.value);
    const verdict = r.met === null ? '' : r.met ? '  ok' : '  NOT MET';
    const target = r.target ? `target ${r.target}${verdict}` : '';
    console.log(`  ${r.figure.padEnd(width)}  ${value.padStart(12)} ${r.unit.padEnd(10)} ${target}`);
  }
}

function format(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}
