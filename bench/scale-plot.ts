/**
 * A small SVG line chart for the scale benchmark: log2 x axis, linear or log10
 * y axis, one polyline per series, a legend. No dependencies; the output is
 * plain text committed next to BENCHMARKS.md.
 */

/** One line of a chart: points with x > 0 (y null = not measured, the line breaks). */
export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<{ x: number; y: number | null }>;
}

/** One panel. */
export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  series: Series[];
}

const W = 460;
const H = 300;
const M = { left: 64, right: 16, top: 34, bottom: 46 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  if (v >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}K`;
  return `${+v.toPrecision(3)}`;
}

function panelSvg(p: Panel, ox: number, oy: number): string {
  const pts = p.series.flatMap((s) => s.points.filter((q) => q.y !== null && q.y > 0) as Array<{ x: number; y: number }>);
  if (pts.length === 0) return '';
  const xs = pts.map((q) => Math.log2(q.x));
  const ty = (y: number) => (p.logY ? Math.log10(y) : y);
  const ys = pts.map((q) => ty(q.y));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const y0 = p.logY ? Math.floor(Math.min(...ys)) : 0;
  let y1 = p.logY ? Math.ceil(Math.max(...ys)) : Math.max(...ys) * 1.1;
  if (y1 <= y0) y1 = y0 + 1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => ox + M.left + ((Math.log2(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => oy + M.top + ph - ((ty(y) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="${oy + 18}" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${ox + M.left}" y="${oy + M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  const xTicks = [...new Set(pts.map((q) => q.x))].sort((a, b) => a - b);
  for (const x of xTicks) {
    out.push(`<line x1="${sx(x)}" y1="${oy + M.top + ph}" x2="${sx(x)}" y2="${oy + M.top + ph + 4}" stroke="#999"/>`);
    out.push(`<text x="${sx(x)}" y="${oy + M.top + ph + 16}" text-anchor="middle" font-size="10">${fmt(x)}</text>`);
  }
  const yTicks = p.logY
    ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i))
    : Array.from({ length: 5 }, (_, i) => (y1 * i) / 4);
  for (const y of yTicks) {
    if (y === 0) continue;
    out.push(`<line x1="${ox + M.left}" y1="${sy(y)}" x2="${ox + M.left + pw}" y2="${sy(y)}" stroke="#eee"/>`);
    out.push(`<text x="${ox + M.left - 4}" y="${sy(y) + 3}" text-anchor="end" font-size="10">${fmt(y)}</text>`);
  }
  out.push(`<text x="${ox + M.left + pw / 2}" y="${oy + H - 8}" text-anchor="middle" font-size="11">${esc(p.xLabel)}</text>`);
  out.push(
    `<text x="${ox + 14}" y="${oy + M.top + ph / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 ${ox + 14} ${oy + M.top + ph / 2})">${esc(p.yLabel)}</text>`,
  );
  p.series.forEach((s, i) => {
    const runs: string[][] = [[]];
    for (const q of s.points) {
      if (q.y === null || !(q.y > 0)) runs.push([]);
      else runs[runs.length - 1].push(`${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}`);
    }
    const dash = s.dashed ? ' stroke-dasharray="5,3"' : '';
    for (const r of runs) {
      if (r.length > 1) out.push(`<polyline points="${r.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
      for (const xy of r) {
        const [cx, cy] = xy.split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
      }
    }
    const ly = oy + M.top + 12 + i * 14;
    out.push(`<line x1="${ox + M.left + 8}" y1="${ly - 4}" x2="${ox + M.left + 26}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${ox + M.left + 30}" y="${ly}" font-size="10">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

/** Panels side by side, three per row, as one SVG document. */
export function chartSvg(title: string, panels: Panel[]): string {
  const cols = Math.min(3, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const width = cols * W;
  const height = rows * H + 28;
  const body = panels.map((p, i) => panelSvg(p, (i % cols) * W, 28 + Math.floor(i / cols) * H)).join('\n');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n` +
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>\n${body}\n</svg>\n`
  );
}
