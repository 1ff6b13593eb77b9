import { describe, expect, it } from 'vitest';
import { lineChartSvg, machine } from '../../scripts/bench-chart';

describe('bench chart', () => {
  it('draws one line per strategy against the clients, titled with the run and the machine', async () => {
    const rows = [8, 32, 128].flatMap((clients) => [
      { clients, strategy: '(b) lockstep handler', 'ok/s': clients * 10 },
      { clients, strategy: '(c) replaced', 'ok/s': 50 },
    ]);
    const svg = await lineChartSvg({
      name: 'test',
      title: 'Registrations per second',
      conditions: '1s per run',
      rows,
      x: { field: 'clients', title: 'concurrent clients' },
      y: { field: 'ok/s', title: 'registrations/s' },
      series: 'strategy',
    });
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(2);
    expect(svg.match(/aria-roledescription="point"/g)).toHaveLength(rows.length);
    for (const text of ['Registrations per second', '1s per run', machine().split(', load')[0]!, '(b) lockstep handler', '(c) replaced']) {
      expect(svg).toContain(text.replaceAll('&', '&amp;'));
    }
  });
});
