import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

export const PALETTE = ['#2dd4bf', '#60a5fa', '#f59e0b', '#f87171', '#a78bfa', '#34d399', '#f472b6', '#94a3b8'];
const SEVERITY_COLORS: Record<string, string> = {
  Critical: '#ef4444',
  High: '#f97316',
  Medium: '#f59e0b',
  Low: '#60a5fa',
  Informational: '#94a3b8',
  Pending: '#64748b',
};
const AXIS = { stroke: '#8b98a9', fontSize: 12 };
const TOOLTIP = { contentStyle: { background: '#111827', border: '1px solid #334155', borderRadius: 6 } };

/** A chart with nothing to draw says so, rather than drawing empty axes. */
function NoData({ label, height }: { label: string; height: number }) {
  return (
    <figure className="chart chart-empty" aria-label={label} style={{ height }}>
      <p className="muted">No data in this period.</p>
    </figure>
  );
}
const hasValue = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v !== 0;

const compact = (v: number) =>
  Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(v);

/** Several series over one x axis (days, weeks). `format` renders values in the tooltip. */
export function LineSeries({
  data,
  x,
  series,
  label,
  format,
  height = 240,
}: {
  data: Array<Record<string, string | number | null>>;
  x: string;
  series: Array<{ key: string; name: string }>;
  label: string;
  format?(value: number): string;
  height?: number;
}) {
  if (!data.some((row) => series.some((s) => hasValue(row[s.key])))) return <NoData label={label} height={height} />;
  return (
    <figure className="chart" aria-label={label}>
      <ResponsiveContainer width="100%" height={height}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#1f2937" vertical={false} />
          <XAxis dataKey={x} tick={AXIS} stroke="#334155" />
          <YAxis tick={AXIS} stroke="#334155" width={48} tickFormatter={compact} />
          <Tooltip {...TOOLTIP} formatter={format ? (v) => format(Number(v)) : undefined} />
          {series.length > 1 && <Legend />}
          {series.map((s, i) => (
            <Line
              // A series with few points shows them: a single week would otherwise draw nothing.
              dot={data.filter((row) => hasValue(row[s.key])).length < 3 ? { r: 3 } : false}
              key={s.key}
              type="monotone"
              dataKey={s.key}
              name={s.name}
              stroke={PALETTE[i % PALETTE.length]}
              strokeWidth={2}
              connectNulls
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** Counts per category as bars (horizontal when labels are long). */
export function CountBars({
  data,
  label,
  horizontal,
  height = 240,
}: {
  data: Array<{ name: string; count: number }>;
  label: string;
  horizontal?: boolean;
  height?: number;
}) {
  if (!data.some((d) => hasValue(d.count))) return <NoData label={label} height={height} />;
  return (
    <figure className="chart" aria-label={label}>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart
          data={data}
          layout={horizontal ? 'vertical' : 'horizontal'}
          margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
        >
          <CartesianGrid stroke="#1f2937" vertical={!horizontal} horizontal={!!horizontal === false} />
          {horizontal ? (
            <>
              <XAxis type="number" tick={AXIS} stroke="#334155" allowDecimals={false} />
              <YAxis type="category" dataKey="name" tick={AXIS} stroke="#334155" width={160} />
            </>
          ) : (
            <>
              <XAxis dataKey="name" tick={AXIS} stroke="#334155" />
              <YAxis tick={AXIS} stroke="#334155" allowDecimals={false} width={40} />
            </>
          )}
          <Tooltip {...TOOLTIP} cursor={{ fill: '#1f2937' }} />
          <Bar dataKey="count" name="Alerts" isAnimationActive={false}>
            {data.map((d, i) => (
              <Cell key={d.name} fill={SEVERITY_COLORS[d.name] ?? PALETTE[i % PALETTE.length]} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

export function Donut({
  data,
  label,
  height = 240,
}: {
  data: Array<{ name: string; count: number }>;
  label: string;
  height?: number;
}) {
  if (!data.some((d) => hasValue(d.count))) return <NoData label={label} height={height} />;
  return (
    <figure className="chart" aria-label={label}>
      <ResponsiveContainer width="100%" height={height}>
        <PieChart>
          <Pie
            data={data}
            dataKey="count"
            nameKey="name"
            innerRadius="55%"
            outerRadius="80%"
            paddingAngle={2}
            isAnimationActive={false}
          >
            {data.map((d, i) => (
              <Cell key={d.name} fill={SEVERITY_COLORS[d.name] ?? PALETTE[i % PALETTE.length]} />
            ))}
          </Pie>
          <Tooltip {...TOOLTIP} />
          <Legend />
        </PieChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** `{a: 1, b: 2}` → `[{name: 'a', count: 1}, …]`, largest first. */
export const countsOf = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count);
