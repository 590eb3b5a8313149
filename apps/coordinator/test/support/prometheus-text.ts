/**
 * A reader of Prometheus's text exposition format (version 0.0.4), for tests: prom-client writes
 * the format but exports no parser, and none is installed. It is strict rather than forgiving:
 * every sample must belong to a family declared by `# HELP` and `# TYPE` before it (histograms'
 * `_bucket`, `_sum` and `_count`, summaries' `_sum` and `_count`), every line must parse, and a
 * value must be a number (or +Inf, -Inf, NaN, in any case).
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: `openshard_task_seconds_bucket`, not the family's. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
const SUFFIXES: Record<MetricType, readonly string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1} ('${line.slice(0, 80)}')`;
    if (line.trim() === '') return;
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) return void helps.set(help[1], unescapeText(help[2]));
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      const h = helps.get(type[1]);
      if (h === undefined) throw new Error(`${where}: # TYPE of ${type[1]} without a # HELP before it`);
      return void families.set(type[1], { name: type[1], help: h, type: type[2] as MetricType, samples: [] });
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`${where}: not a sample`);
    const family = familyOf(families, m[1]);
    if (!family) throw new Error(`${where}: sample ${m[1]} belongs to no declared family`);
    family.samples.push({ name: m[1], labels: parseLabels(m[2] ?? '', where), value: parseValue(m[3], where) });
  });
  return families;
}

function familyOf(families: Map<string, MetricFamily>, sample: string): MetricFamily | undefined {
  for (const f of families.values()) if (SUFFIXES[f.type].some((s) => f.name + s === sample)) return f;
  return undefined;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`${where}: bad labels '${text}'`);
    labels[m[1]] = unescapeText(m[2]);
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  // as Prometheus reads them (Go's ParseFloat): any case; prom-client writes NaN as 'Nan'
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Infinity;
  if (special === '-inf') return -Infinity;
  if (special === 'nan') return NaN;
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new Error(`${where}: value '${text}' is not a number`);
  return v;
}

function unescapeText(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** The value of a family's one sample whose labels include `labels` (and whose name is `name`, for a histogram's parts). */
export function sampleValue(families: Map<string, MetricFamily>, family: string, labels: Record<string, string> = {}, name = family): number {
  const f = families.get(family);
  if (!f) throw new Error(`no metric family ${family}; there are ${[...families.keys()].join(', ')}`);
  const found = f.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} with labels ${JSON.stringify(labels)}; expected 1`);
  return found[0].value;
}
