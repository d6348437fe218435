import { createI18n } from 'vue-i18n';

const zh = {
  app: '扶贫云', login: { title: '扶贫云 · 精准扶贫大数据平台', user: '用户名', password: '密码', submit: '登录', failed: '登录失败' },
  menu: { overview: '总览', bigscreen: '大屏', regions: '区域', villages: '村情', households: '农户', flags: '疑点核查', exchange: '数据交换', reports: '报表', queries: '统计分析', jobs: '任务', users: '用户', audit: '审计日志' },
  role: { admin: '管理员', official: '领导干部', cadre: '驻村干部', department: '部门', auditor: '审计员' },
  logout: '退出', lang: 'English', region: '区域', loading: '加载中…', empty: '暂无数据', reload: '重新加载',
  fig: { households: '建档户数', persons: '建档人数', poor_persons: '未脱贫人数', exited_persons: '已脱贫人数', returned_persons: '返贫人数', monitored_persons: '监测人数', incidence: '贫困发生率', open_flags: '待核查疑点' },
  panel: { map: '地图', causes: '致贫原因', statusYear: '脱贫年度', income: '人均纯收入分布（对照贫困线）', fgt: 'FGT 与 Alkire–Foster 多维贫困（按下级区域）', children: '下级区域', measure: '着色指标', up: '返回上级' },
  status: '脱贫状态', year: '年份', name: '名称', code: '代码',
  village: { title: '村情', terrain: '地形', industries: '主导产业', infra: '基础设施', road: '通硬化路', water: '通自来水', power: '通电', broadband: '通宽带', clinic: '卫生室', school: '学校', distance: '距乡镇（公里）', collective: '村集体收入', households: '农户', map: '农户分布', conditions: '两不愁三保障', none: '村基本情况尚无数据' },
  hh: { title: '户档案', members: '家庭成员', income: '收入构成', conditions: '两不愁三保障', photos: '照片', photo: '照片', location: '位置', records: '部门数据', flags: '疑点', history: '变更记录', unmask: '显示完整信息', reason: '查看理由', masked: '已脱敏', upload: '上传照片', edit: '更新农户', save: '保存', stale: '该户已被他人修改，请重新加载后再改', saved: '已保存', forbidden: '无权查看该户（不在您的管辖范围内）', relation: '与户主关系', born: '出生日期', health: '健康状况', labor: '劳动能力', school: '在校情况', field: '字段', old: '原值', new: '新值' },
  flag: { title: '疑点核查', rule: '规则', category: '类别', state: '状态', severity: '级别', evidence: '依据', note: '核查备注', verify: '核实', dismiss: '排除', reopen: '重新打开', bulkVerify: '批量核实', bulkDismiss: '批量排除', export: '导出 Excel', household: '户', village: '村', decided: '核查人/时间', all: '全部', open: '待核查', verified: '已核实', dismissed: '已排除', closed: '已关闭', notePrompt: '请填写核查备注', done: '已更新 {n} 条' },
  ex: { nothing: '没有新的数据：与上次导入相同', title: '数据交换', upload: '上传文件（CSV/XLSX，可多选）', start: '开始导入', progress: '进度', report: '校验报告', history: '导入历史', file: '文件', row: '行', column: '列', value: '值', message: '问题', links: '本部门数据与建档人员比对', registered: '建档人员', stage: '匹配方式', dataset: '数据集', outcome: '结果', read: '读取', imported: '导入', rejected: '拒绝', warnings: '警告' },
  rep: { title: '报表', template: '模板', year: '年份', xlsx: '下载 XLSX', pdf: '下载 PDF', registry: '建档立卡贫困人口统计表', causes: '致贫原因分析表', progress: '脱贫进度表', policy: '政策落实情况表', flags: '疑点核查清单' },
  q: { title: '统计分析', measures: '指标', dims: '维度', where: '筛选（维度=值）', run: '查询', export: '导出 Excel', chart: '图表', table: '表格' },
  jobs: { title: '任务', kind: '类型', state: '状态', phase: '阶段', started: '开始', finished: '结束', user: '用户', run: '运行' },
  users: { title: '用户', add: '添加用户', username: '用户名', role: '角色', region: '区域代码', datasets: '数据集', password: '密码', disable: '停用', enable: '启用', setPassword: '重设密码', state: '状态' },
  audit: { title: '审计日志', at: '时间', user: '用户', action: '操作', object: '对象', detail: '详情', outcome: '结果', address: '地址' },
  mobile: { mine: '我的农户', flags: '本村疑点' },
  error: '出错了', forbidden: '无权访问', notFound: '未找到', cancel: '取消', ok: '确定', search: '搜索', yes: '是', no: '否', total: '合计', line: '贫困线',
  screen: { title: '扶贫云 · 指挥中心', refreshed: '更新于' },
  hhinc: { income_wage: '工资性收入', income_business: '生产经营性收入', income_property: '财产性收入', income_transfer: '转移性收入' },
  cond: { housing_safe: '住房安全', water_safe: '饮水安全', electricity: '通生活用电', medical_insured: '基本医疗保险', in_school: '义务教育' },
};

const en: typeof zh = {
  app: 'fupin', login: { title: 'fupin · Poverty Alleviation Data Platform', user: 'User name', password: 'Password', submit: 'Sign in', failed: 'Sign-in failed' },
  menu: { overview: 'Overview', bigscreen: 'Big screen', regions: 'Regions', villages: 'Villages', households: 'Households', flags: 'Flags', exchange: 'Data exchange', reports: 'Reports', queries: 'Queries', jobs: 'Jobs', users: 'Users', audit: 'Audit log' },
  role: { admin: 'Administrator', official: 'Official', cadre: 'Village cadre', department: 'Department', auditor: 'Auditor' },
  logout: 'Sign out', lang: '中文', region: 'Region', loading: 'Loading…', empty: 'No data', reload: 'Reload',
  fig: { households: 'Households', persons: 'Registered persons', poor_persons: 'Poor persons', exited_persons: 'Exited persons', returned_persons: 'Returned to poverty', monitored_persons: 'Monitored persons', incidence: 'Incidence', open_flags: 'Open flags' },
  panel: { map: 'Map', causes: 'Causes of poverty', statusYear: 'Status by exit year', income: 'Per-capita income against the line', fgt: 'FGT and Alkire–Foster by sub-region', children: 'Sub-regions', measure: 'Colour by', up: 'Up' },
  status: 'Status', year: 'Year', name: 'Name', code: 'Code',
  village: { title: 'Village', terrain: 'Terrain', industries: 'Main industries', infra: 'Infrastructure', road: 'Paved road', water: 'Tap water', power: 'Electricity', broadband: 'Broadband', clinic: 'Clinic', school: 'School', distance: 'Distance to township (km)', collective: 'Collective income', households: 'Households', map: 'Households on the map', conditions: 'Two assurances, three guarantees', none: 'No village attributes yet' },
  hh: { title: 'Household', members: 'Members', income: 'Income', conditions: 'Two assurances, three guarantees', photos: 'Photos', photo: 'Photo', location: 'Location', records: 'Department records', flags: 'Flags', history: 'Change history', unmask: 'Show full details', reason: 'Reason', masked: 'masked', upload: 'Upload photo', edit: 'Update household', save: 'Save', stale: 'Someone else changed this household: reload it and edit again', saved: 'Saved', forbidden: 'You may not open this household (outside your region)', relation: 'Relation', born: 'Born', health: 'Health', labor: 'Labour', school: 'In school', field: 'Field', old: 'Old', new: 'New' },
  flag: { title: 'Flags', rule: 'Rule', category: 'Category', state: 'State', severity: 'Severity', evidence: 'Evidence', note: 'Note', verify: 'Verify', dismiss: 'Dismiss', reopen: 'Reopen', bulkVerify: 'Verify selected', bulkDismiss: 'Dismiss selected', export: 'Export Excel', household: 'Household', village: 'Village', decided: 'Decided by / at', all: 'All', open: 'Open', verified: 'Verified', dismissed: 'Dismissed', closed: 'Closed', notePrompt: 'Write a note', done: '{n} updated' },
  ex: { nothing: 'Nothing new: the same as the last import', title: 'Data exchange', upload: 'Upload files (CSV/XLSX, several allowed)', start: 'Import', progress: 'Progress', report: 'Validation report', history: 'Import history', file: 'File', row: 'Row', column: 'Column', value: 'Value', message: 'Issue', links: 'Our records against the registry', registered: 'Registered', stage: 'Match', dataset: 'Data set', outcome: 'Outcome', read: 'Read', imported: 'Imported', rejected: 'Rejected', warnings: 'Warnings' },
  rep: { title: 'Reports', template: 'Template', year: 'Year', xlsx: 'Download XLSX', pdf: 'Download PDF', registry: 'Registered poor population', causes: 'Causes of poverty', progress: 'Exit progress', policy: 'Policy coverage', flags: 'Flag worklist' },
  q: { title: 'Queries', measures: 'Measures', dims: 'Dimensions', where: 'Filters (dimension=value)', run: 'Run', export: 'Export Excel', chart: 'Chart', table: 'Table' },
  jobs: { title: 'Jobs', kind: 'Kind', state: 'State', phase: 'Phase', started: 'Started', finished: 'Finished', user: 'User', run: 'Run' },
  users: { title: 'Users', add: 'Add user', username: 'User name', role: 'Role', region: 'Region code', datasets: 'Data sets', password: 'Password', disable: 'Disable', enable: 'Enable', setPassword: 'Set password', state: 'State' },
  audit: { title: 'Audit log', at: 'At', user: 'User', action: 'Action', object: 'Object', detail: 'Detail', outcome: 'Outcome', address: 'Address' },
  mobile: { mine: 'My households', flags: 'Flags in my village' },
  error: 'Error', forbidden: 'Forbidden', notFound: 'Not found', cancel: 'Cancel', ok: 'OK', search: 'Search', yes: 'Yes', no: 'No', total: 'Total', line: 'Poverty line',
  screen: { title: 'fupin · Command centre', refreshed: 'Updated' },
  hhinc: { income_wage: 'Wages', income_business: 'Business', income_property: 'Property', income_transfer: 'Transfers' },
  cond: { housing_safe: 'Safe housing', water_safe: 'Safe water', electricity: 'Electricity', medical_insured: 'Medical insurance', in_school: 'Compulsory schooling' },
};

const saved = localStorage.getItem('fupin.lang');
export const i18n = createI18n({
  legacy: false,
  locale: saved === 'en' ? 'en' : 'zh-CN',
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
});

export function setLang(l: 'zh-CN' | 'en') {
  i18n.global.locale.value = l;
  localStorage.setItem('fupin.lang', l);
  document.documentElement.lang = l;
}
