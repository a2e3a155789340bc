import '@mantine/charts/styles.css';
import { BarChart } from '@mantine/charts';
import type { UsageRow } from './types';

/**
 * Tokens per model, input and output stacked. Its own chunk (React.lazy in UsageSection): the
 * charting library (recharts) loads only when there is usage to draw.
 */
export default function UsageChart({ rows }: { rows: UsageRow[] }) {
  const byModel = new Map<string, { model: string; inputTokens: number; outputTokens: number; requests: number }>();
  for (const r of rows) {
    const m = byModel.get(r.model) ?? { model: r.model, inputTokens: 0, outputTokens: 0, requests: 0 };
    m.inputTokens += r.inputTokens;
    m.outputTokens += r.outputTokens;
    m.requests += r.requests;
    byModel.set(r.model, m);
  }
  const data = [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  return (
    <figure style={{ margin: 0 }} data-testid="usage-chart">
      <BarChart
        h={280}
        data={data}
        dataKey="model"
        type="stacked"
        withLegend
        series={[
          { name: 'inputTokens', label: 'Input tokens', color: 'indigo.9' },
          { name: 'outputTokens', label: 'Output tokens', color: 'teal.8' },
        ]}
      />
      <figcaption>Tokens per model, input and output; the table below holds the same numbers.</figcaption>
    </figure>
  );
}
