// The ECharts parts the app draws with, and nothing else (tree-shaken).
import * as core from 'echarts/core';
import { BarChart, LineChart, PieChart, MapChart, ScatterChart } from 'echarts/charts';
import {
  GridComponent, TooltipComponent, LegendComponent, TitleComponent, VisualMapComponent, GeoComponent,
  DatasetComponent, MarkLineComponent,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

core.use([
  BarChart, LineChart, PieChart, MapChart, ScatterChart, GridComponent, TooltipComponent, LegendComponent,
  TitleComponent, VisualMapComponent, GeoComponent, DatasetComponent, MarkLineComponent, CanvasRenderer,
]);
export default core;
