// A time chart on uPlot (about 20 KB gzipped): x is time in seconds, each series a line with
// its own scale. The plot follows its box's width, so it fits a phone.
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Line {
  label: string;
  values: (number | null)[];
  scale: string;
  color: string;
  /** A step line (a limit or a price), not an interpolated measurement. */
  stepped?: boolean;
}

export function TimeChart(props: { x: number[]; lines: Line[]; height?: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    const scales = [...new Set(props.lines.map((l) => l.scale))];
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: props.height ?? 240,
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,.2)' } },
        ...scales.map((s, i) => ({
          scale: s,
          label: s,
          stroke: 'currentColor',
          side: i === 0 ? 3 : 1,
          grid: { show: i === 0, stroke: 'rgba(128,128,128,.2)' },
        })),
      ],
      series: [
        {},
        ...props.lines.map((l) => ({
          label: l.label,
          scale: l.scale,
          stroke: l.color,
          width: 2,
          ...(l.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        })),
      ],
    };
    plot.current = new uPlot(opts, [props.x, ...props.lines.map((l) => l.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 240 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [props.lines.map((l) => l.label).join('|')]);
  useEffect(() => {
    plot.current?.setData([props.x, ...props.lines.map((l) => l.values)] as uPlot.AlignedData);
  }, [props.x, props.lines]);
  return <div class="chart" ref={box} role="img" aria-label={props.label} />;
}
