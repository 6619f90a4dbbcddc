import { createMemo, For, type JSX } from "solid-js";
import type { UsageReport } from "../../api/types.ts";
import { usd } from "../../components/format.ts";

const COLORS = ["#2f8f6b", "#d08c2b", "#4a7fd1", "#b5477f", "#7a6bd1", "#5a9e3a", "#c2553b", "#3aa3a3"];

/** Cost per day as stacked bars, one colour per model; every day of the window gets a slot, spent or not. */
export function UsageChart(props: { report: UsageReport; days: number }): JSX.Element {
  const data = createMemo(() => {
    const models = [...new Set(props.report.rows.map((r) => r.model))].sort();
    const days: string[] = [];
    const end = new Date(`${props.report.budget.day}T00:00:00Z`).getTime();
    for (let i = props.days - 1; i >= 0; i--) days.push(new Date(end - i * 86_400_000).toISOString().slice(0, 10));
    const cost = new Map<string, number>();
    for (const r of props.report.rows) cost.set(`${r.day}|${r.model}`, (cost.get(`${r.day}|${r.model}`) ?? 0) + r.costUsd);
    const totals = days.map((d) => models.reduce((s, m) => s + (cost.get(`${d}|${m}`) ?? 0), 0));
    const max = Math.max(...totals, props.report.budget.dailyUsd ?? 0, 1e-6);
    return { models, days, cost, totals, max };
  });
  const W = 720;
  const H = 200;
  const PAD = { l: 44, r: 8, t: 10, b: 22 };
  const innerW = W - PAD.l - PAD.r;
  const innerH = H - PAD.t - PAD.b;
  const y = (v: number) => PAD.t + innerH - (v / data().max) * innerH;
  const slot = () => innerW / data().days.length;

  return (
    <figure style={{ margin: "0" }}>
      <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Cost per day over the last ${props.days} days`}>
        <line x1={PAD.l} x2={W - PAD.r} y1={y(0)} y2={y(0)} stroke="currentColor" stroke-opacity="0.2" />
        <text x={PAD.l - 6} y={y(data().max) + 4} text-anchor="end">
          {usd(data().max)}
        </text>
        <text x={PAD.l - 6} y={y(0)} text-anchor="end">
          $0
        </text>
        {props.report.budget.dailyUsd ? (
          <line x1={PAD.l} x2={W - PAD.r} y1={y(props.report.budget.dailyUsd)} y2={y(props.report.budget.dailyUsd)} stroke="#c2553b" stroke-dasharray="4 3">
            <title>daily budget {usd(props.report.budget.dailyUsd)}</title>
          </line>
        ) : null}
        <For each={data().days}>
          {(day, i) => {
            let acc = 0;
            const x = () => PAD.l + i() * slot() + slot() * 0.15;
            return (
              <g>
                <For each={data().models}>
                  {(m, mi) => {
                    const v = data().cost.get(`${day}|${m}`) ?? 0;
                    const top = y(acc + v);
                    const h = y(acc) - top;
                    acc += v;
                    return v > 0 ? (
                      <rect x={x()} y={top} width={Math.max(1, slot() * 0.7)} height={Math.max(h, 1)} fill={COLORS[mi() % COLORS.length]} rx="1.5">
                        <title>
                          {day} · {m}: {usd(v)}
                        </title>
                      </rect>
                    ) : null;
                  }}
                </For>
                {i() % Math.ceil(data().days.length / 7) === 0 ? (
                  <text x={x() + slot() * 0.35} y={H - 6} text-anchor="middle">
                    {day.slice(5)}
                  </text>
                ) : null}
              </g>
            );
          }}
        </For>
      </svg>
      <figcaption class="legend">
        <For each={data().models} fallback={<span class="muted">No model calls in this window.</span>}>
          {(m, i) => (
            <span>
              <i style={{ background: COLORS[i() % COLORS.length] }} />
              {m}
            </span>
          )}
        </For>
      </figcaption>
    </figure>
  );
}
