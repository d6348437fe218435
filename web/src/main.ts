import { createApp } from 'vue';
import {
  ElButton, ElInput, ElForm, ElFormItem, ElSelect, ElOption, ElTable, ElTableColumn, ElCard, ElRow, ElCol,
  ElMenu, ElMenuItem, ElTag, ElBreadcrumb, ElBreadcrumbItem, ElPagination, ElUpload, ElProgress, ElEmpty,
  ElAlert, ElDialog, ElDescriptions, ElDescriptionsItem, ElTabs, ElTabPane, ElInputNumber, ElSkeleton,
  ElLoading, ElImage, ElCheckbox, ElSwitch, ElDrawer,
} from 'element-plus';
import 'element-plus/dist/index.css';
import './style.css';
import App from './App.vue';
import { router } from './router';
import { i18n } from './i18n';

const app = createApp(App);
for (const c of [
  ElButton, ElInput, ElForm, ElFormItem, ElSelect, ElOption, ElTable, ElTableColumn, ElCard, ElRow, ElCol,
  ElMenu, ElMenuItem, ElTag, ElBreadcrumb, ElBreadcrumbItem, ElPagination, ElUpload, ElProgress, ElEmpty,
  ElAlert, ElDialog, ElDescriptions, ElDescriptionsItem, ElTabs, ElTabPane, ElInputNumber, ElSkeleton,
  ElImage, ElCheckbox, ElSwitch, ElDrawer,
]) {
  app.component(c.name!, c);
}
app.use(ElLoading);
app.use(i18n).use(router).mount('#app');
document.documentElement.lang = i18n.global.locale.value;
