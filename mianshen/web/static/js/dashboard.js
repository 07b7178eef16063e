/* 监督问效图表：兑现进度与预算使用率（charts.js 的柱状图）。 */
(function () {
  "use strict";
  var data = window.mianshenChartData && window.mianshenChartData("dashboard-data");
  if (!data) { return; }
  // the stages after matching: the matched count alone would dwarf every later stage
  var names = { notified: "已通知", confirmed: "已确认", approved: "已批准", paid: "已拨付" };
  window.mianshenBars("chart-funnel", "兑现进度（案件数）", data.policies, Object.keys(names).map(function (key) {
    return { name: names[key], data: (data.funnel || {})[key] || [] };
  }));
  window.mianshenBars("chart-budget", "预算使用率（%）", data.budget_policies,
    [{ name: "预算使用率", data: data.budget_use, color: "#c8161d" }],
    { type: "value", max: function (v) { return Math.max(100, v.max); } });
})();
