/* 监督问效图表：读取页面内嵌的数据，用本地 ECharts 绘制；ECharts 不存在时什么也不做（表格照常显示）。 */
(function () {
  "use strict";
  var holder = document.getElementById("dashboard-data");
  if (!holder || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent || "{}");
  // the stages after matching: the matched count alone would dwarf every later stage
  var names = { notified: "已通知", confirmed: "已确认", approved: "已批准", paid: "已拨付" };
  var funnel = document.getElementById("chart-funnel");
  if (funnel) {
    window.echarts.init(funnel).setOption({
      title: { text: "兑现进度（案件数）", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { top: 24 },
      grid: { top: 60, left: 40, right: 10, bottom: 80 },
      xAxis: { type: "category", data: data.policies, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value" },
      series: Object.keys(names).map(function (key) {
        return { name: names[key], type: "bar", data: (data.funnel || {})[key] || [] };
      })
    });
  }
  var budget = document.getElementById("chart-budget");
  if (budget) {
    window.echarts.init(budget).setOption({
      title: { text: "预算使用率（%）", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      grid: { top: 40, left: 40, right: 10, bottom: 80 },
      xAxis: { type: "category", data: data.budget_policies, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value", max: function (v) { return Math.max(100, v.max); } },
      series: [{ name: "预算使用率", type: "bar", data: data.budget_use, itemStyle: { color: "#c8161d" } }]
    });
  }
})();
