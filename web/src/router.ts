import { createRouter, createWebHistory } from 'vue-router';
import { session, loadMe, permissions, type PageKey, setUnauthorizedHandler } from './api';
import { echarts } from './charts';

const page = (key: PageKey) => ({ page: key });
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', component: () => import('./views/Login.vue'), meta: { public: true } },
    { path: '/bigscreen', component: () => import('./views/BigScreen.vue'), meta: page('bigscreen') },
    {
      path: '/',
      component: () => import('./views/Layout.vue'),
      children: [
        { path: '', component: () => import('./views/Home.vue') },
        { path: 'overview', component: () => import('./views/Overview.vue'), meta: page('overview') },
        { path: 'regions/:code', component: () => import('./views/Overview.vue'), meta: page('regions') },
        { path: 'villages', component: () => import('./views/Villages.vue'), meta: page('villages') },
        { path: 'villages/:code', component: () => import('./views/Village.vue'), meta: page('villages') },
        { path: 'households', component: () => import('./views/Mobile.vue'), meta: page('households') },
        { path: 'households/:id', component: () => import('./views/Household.vue'), meta: page('households') },
        { path: 'flags', component: () => import('./views/Flags.vue'), meta: page('flags') },
        { path: 'exchange', component: () => import('./views/Exchange.vue'), meta: page('exchange') },
        { path: 'reports', component: () => import('./views/Reports.vue'), meta: page('reports') },
        { path: 'queries', component: () => import('./views/Queries.vue'), meta: page('queries') },
        { path: 'jobs', component: () => import('./views/Jobs.vue'), meta: page('jobs') },
        { path: 'users', component: () => import('./views/Users.vue'), meta: page('users') },
        { path: 'audit', component: () => import('./views/Audit.vue'), meta: page('audit') },
        { path: ':rest(.*)*', component: () => import('./views/Forbidden.vue'), props: { notFound: true } },
      ],
    },
  ],
});

setUnauthorizedHandler(() => {
  if (router.currentRoute.value.path !== '/login') router.push({ path: '/login', query: { next: router.currentRoute.value.fullPath } });
});

// Pages that draw charts: ECharts starts loading with the page, not after its data.
const CHART_PAGES = new Set(['overview', 'regions', 'villages', 'households', 'queries', 'bigscreen']);

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  // The page's code (and ECharts, for a page with charts) loads while the session is checked,
  // not after: on a cold start that is one round trip less before the page's own requests.
  for (const record of to.matched) {
    const c = record.components?.default;
    if (typeof c === 'function') (c as () => Promise<unknown>)().catch(() => undefined);
  }
  if (CHART_PAGES.has(to.meta.page as string)) echarts().catch(() => undefined);
  if (!session.me) await loadMe();
  if (!session.me) return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  const key = to.meta.page as PageKey | undefined;
  if (key && !permissions(session.me).includes(key)) return { path: '/', query: { denied: key } };
  return true;
});
