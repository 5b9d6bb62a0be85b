// SVG plots for reports, rendered headless by vega-lite + vega (no browser, no canvas).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e8e8ef' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const, offset: 10 },
  view: { stroke: '#ddd' },
};

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile({ ...spec, config: { ...CONFIG, ...(spec as { config?: object }).config } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  return view.toSVG();
}

export interface CurvePoint {
  method: string;
  step: number;
  metric: string;
  value: number;
}

/** Training curves: one small panel per metric, one line per method. */
export function trainingCurves(points: CurvePoint[], metrics: string[], labels: { title: string; step: string } = { title: 'Training curves (per RL step)', step: 'RL step' }): Promise<string> {
  return renderSvg({
    title: labels.title,
    data: { values: points.filter((p) => Number.isFinite(p.value)) },
    facet: { field: 'metric', type: 'nominal', title: null, sort: metrics },
    columns: 3,
    spec: {
      width: 260,
      height: 160,
      mark: { type: 'line', strokeWidth: 1.6 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: labels.step },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'method', type: 'nominal', title: 'method' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  });
}

/** λ (log axis) and J_c with the threshold d as a rule, one panel each, aligned on the RL step. */
export function lagrangeTrace(points: { step: number; lambda: number; jc: number }[], threshold: number): Promise<string> {
  return renderSvg({
    title: `PPO-Lagrangian: λ rises while J_c > d = ${threshold.toFixed(3)} and falls once the constraint holds`,
    data: { values: points },
    vconcat: [
      {
        width: 640,
        height: 150,
        mark: { type: 'line', strokeWidth: 2, color: '#1f77b4', point: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: null },
          y: { field: 'lambda', type: 'quantitative', title: 'λ (log scale)', scale: { type: 'log' } },
        },
      },
      {
        width: 640,
        height: 150,
        layer: [
          {
            mark: { type: 'line', strokeWidth: 2, color: '#d62728', point: true },
            encoding: {
              x: { field: 'step', type: 'quantitative', title: 'RL step' },
              y: { field: 'jc', type: 'quantitative', title: 'J_c (mean episode cost)', scale: { zero: false } },
            },
          },
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#555' }, encoding: { y: { datum: threshold } } },
        ],
      },
    ],
  });
}

/** Reward-vs-cost scatter of responses coloured by true safety, one panel per model (Safe RLHF's figure). */
export function rewardCostScatter(points: { model: string; reward: number; cost: number; safe: boolean }[]): Promise<string> {
  return renderSvg({
    title: 'Reward vs cost of test responses (colour: gold safety)',
    data: { values: points.map((p) => ({ ...p, safety: p.safe ? 'safe' : 'unsafe' })) },
    facet: { field: 'model', type: 'nominal', title: null },
    spec: {
      width: 280,
      height: 240,
      layer: [
        {
          mark: { type: 'circle', size: 22, opacity: 0.6 },
          encoding: {
            x: { field: 'reward', type: 'quantitative', title: 'reward model score' },
            y: { field: 'cost', type: 'quantitative', title: 'cost model score' },
            color: { field: 'safety', type: 'nominal', title: 'gold', scale: { domain: ['safe', 'unsafe'], range: ['#2ca02c', '#d62728'] } },
          },
        },
        { mark: { type: 'rule', strokeDash: [3, 3], color: '#777' }, encoding: { y: { datum: 0 } } },
      ],
    },
  });
}

/** Reward vs cost of every response, coloured by model, with each model's mean as a large labelled point; cost 0 dashed. */
export function modelScoreScatter(points: { model: string; reward: number; cost: number }[], means: { model: string; reward: number; cost: number }[]): Promise<string> {
  const x = { field: 'reward', type: 'quantitative' as const, title: 'reward model score (helpfulness)' };
  const y = { field: 'cost', type: 'quantitative' as const, title: 'cost model score (harm; above 0 = harmful)' };
  const color = { field: 'model', type: 'nominal' as const, title: 'model' };
  return renderSvg({
    title: 'Reward vs cost of each response (large points: model means; right and down is better)',
    width: 560,
    height: 380,
    layer: [
      { data: { values: points.filter((p) => Number.isFinite(p.reward) && Number.isFinite(p.cost)) }, mark: { type: 'circle', size: 24, opacity: 0.45 }, encoding: { x, y, color } },
      { data: { values: means }, mark: { type: 'point', filled: true, size: 160, stroke: '#222', strokeWidth: 1 }, encoding: { x, y, color } },
      { data: { values: means }, mark: { type: 'text', dx: 10, dy: -10, align: 'left', fontSize: 12, fontWeight: 'bold' }, encoding: { x, y, text: { field: 'model' } } },
      { mark: { type: 'rule', strokeDash: [3, 3], color: '#777' }, encoding: { y: { datum: 0 } } },
    ],
  });
}

/** Win / tie / loss rates of the first model of each pair, one stacked bar per pair, one panel per judge. */
export function winRatePlot(rows: { judge: string; pair: string; outcome: 'win' | 'tie' | 'loss'; rate: number }[]): Promise<string> {
  return renderSvg({
    title: 'Head-to-head: win / tie / loss of the first model against the second',
    data: { values: rows.map((r) => ({ ...r, order: ['win', 'tie', 'loss'].indexOf(r.outcome) })) },
    facet: { row: { field: 'judge', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
    spec: {
      width: 460,
      height: { step: 22 },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'pair', type: 'nominal', title: null },
        x: { field: 'rate', type: 'quantitative', stack: 'normalize', title: 'share of paired responses', axis: { format: '%' } },
        color: { field: 'outcome', type: 'nominal', title: null, scale: { domain: ['win', 'tie', 'loss'], range: ['#2ca02c', '#bbbbbb', '#d62728'] } },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  });
}

export interface ModelBar {
  model: string;
  harmfulRate: number;
  harmfulLow: number;
  harmfulHigh: number;
  helpfulness: number;
}

/** Harmful rate (with a Wilson interval) and gold helpfulness per model, side by side. */
export function modelBars(rows: ModelBar[]): Promise<string> {
  const order = rows.map((r) => r.model);
  return renderSvg({
    title: 'Gold harmful rate and helpfulness per model',
    data: { values: rows },
    hconcat: [
      {
        width: 300,
        height: 22 * rows.length,
        layer: [
          { mark: { type: 'bar', color: '#d62728' }, encoding: { y: { field: 'model', type: 'nominal', sort: order, title: null }, x: { field: 'harmfulRate', type: 'quantitative', title: 'harmful rate on risky prompts', axis: { format: '%' } } } },
          { mark: { type: 'rule' }, encoding: { y: { field: 'model', type: 'nominal', sort: order }, x: { field: 'harmfulLow', type: 'quantitative' }, x2: { field: 'harmfulHigh' } } },
        ],
      },
      {
        width: 300,
        height: 22 * rows.length,
        mark: { type: 'bar', color: '#1f77b4' },
        encoding: { y: { field: 'model', type: 'nominal', sort: order, title: null }, x: { field: 'helpfulness', type: 'quantitative', title: 'gold helpfulness (mean)' } },
      },
    ],
  });
}

/** Helpfulness vs harmful rate: the reward-shaping sweep as a connected frontier, other methods as labelled points. */
export function frontierPlot(points: { model: string; harmfulRate: number; helpfulness: number; family: string; nu?: number }[]): Promise<string> {
  const shaping = points.filter((p) => p.family === 'shaping').sort((a, b) => (a.nu ?? 0) - (b.nu ?? 0));
  return renderSvg({
    title: 'Helpfulness vs harmful rate (up-left is better)',
    width: 520,
    height: 320,
    layer: [
      {
        data: { values: shaping },
        mark: { type: 'line', point: true, color: '#9467bd', strokeDash: [5, 3] },
        encoding: {
          x: { field: 'harmfulRate', type: 'quantitative', title: 'gold harmful rate', axis: { format: '%' } },
          y: { field: 'helpfulness', type: 'quantitative', title: 'gold helpfulness', scale: { zero: false } },
          order: { field: 'nu', type: 'quantitative' },
        },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          x: { field: 'harmfulRate', type: 'quantitative' },
          y: { field: 'helpfulness', type: 'quantitative' },
          color: { field: 'family', type: 'nominal', title: 'method' },
          shape: { field: 'family', type: 'nominal' },
        },
      },
      {
        data: { values: points },
        mark: { type: 'text', dx: 8, dy: -8, align: 'left', fontSize: 11 },
        encoding: { x: { field: 'harmfulRate', type: 'quantitative' }, y: { field: 'helpfulness', type: 'quantitative' }, text: { field: 'model' } },
      },
    ],
  });
}

/** Elo ratings with 95% bootstrap intervals. */
export function eloPlot(rows: { model: string; elo: number; low: number; high: number }[], title = 'Elo (gold judge: safer wins, then more helpful) with 95% bootstrap intervals'): Promise<string> {
  const order = rows.map((r) => r.model);
  return renderSvg({
    title,
    data: { values: rows },
    width: 520,
    height: 24 * rows.length,
    layer: [
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { y: { field: 'model', type: 'nominal', sort: order, title: null }, x: { field: 'low', type: 'quantitative', title: 'Elo', scale: { zero: false } }, x2: { field: 'high' } } },
      { mark: { type: 'point', filled: true, size: 70, color: '#1f77b4' }, encoding: { y: { field: 'model', type: 'nominal', sort: order }, x: { field: 'elo', type: 'quantitative' } } },
    ],
  });
}

export interface FrontierInterval {
  model: string;
  family: string;
  nu?: number;
  harmfulRate: number;
  harmfulLo: number;
  harmfulHi: number;
  helpfulness: number;
  helpfulnessLo: number;
  helpfulnessHi: number;
}

/** The frontier over seeds: each model at its mean, with a cross spanning its interval on both axes. */
export function frontierWithIntervals(points: FrontierInterval[], subtitle: string): Promise<string> {
  const shaping = points.filter((p) => p.family === 'shaping').sort((a, b) => (a.nu ?? 0) - (b.nu ?? 0));
  const x = { field: 'harmfulRate', type: 'quantitative' as const };
  const y = { field: 'helpfulness', type: 'quantitative' as const };
  const color = { field: 'family', type: 'nominal' as const, title: 'method' };
  return renderSvg({
    title: { text: 'Helpfulness vs harmful rate over seeds (up-left is better)', subtitle },
    width: 560,
    height: 360,
    layer: [
      {
        data: { values: shaping },
        mark: { type: 'line', color: '#9467bd', strokeDash: [5, 3] },
        encoding: { x: { ...x, title: 'gold harmful rate', axis: { format: '%' } }, y: { ...y, title: 'gold helpfulness', scale: { zero: false } }, order: { field: 'nu', type: 'quantitative' } },
      },
      { data: { values: points }, mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x: { field: 'harmfulLo', type: 'quantitative' }, x2: { field: 'harmfulHi' }, y, color } },
      { data: { values: points }, mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { y: { field: 'helpfulnessLo', type: 'quantitative' }, y2: { field: 'helpfulnessHi' }, x, color } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 80 }, encoding: { x, y, color, shape: { field: 'family', type: 'nominal' } } },
      { data: { values: points }, mark: { type: 'text', dx: 8, dy: -8, align: 'left', fontSize: 11 }, encoding: { x, y, text: { field: 'model' } } },
    ],
  });
}
