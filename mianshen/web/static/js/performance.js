/* 政策绩效评价图表：各环节件数与分地区的立案、拨付；读取页面内嵌的数据，用本地 ECharts 绘制（打印时随页面输出）。
   ECharts 不存在时什么也不做，表格照常显示。 */
(function () {
  "use strict";
  var holder = document.getElementById("performance-data");
  if (!holder || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent || "{}");
  var funnel = document.getElementById("chart-stages");
  if (funnel) {
    window.echarts.init(funnel).setOption({
      title: { text: "各环节件数", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      grid: { top: 40, left: 50, right: 10, bottom: 60 },
      xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value" },
      series: [{ name: "件数", type: "bar", data: data.counts, itemStyle: { color: "#c8161d" } }]
    });
  }
  var regions = document.getElementById("chart-regions");
  if (regions) {
    window.echarts.init(regions).setOption({
      title: { text: "分地区立案与拨付", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { top: 24 },
      grid: { top: 60, left: 50, right: 10, bottom: 80 },
      xAxis: { type: "category", data: data.regions, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value" },
      series: [
        { name: "立案", type: "bar", data: data.opened },
        { name: "已拨付", type: "bar", data: data.paid }
      ]
    });
  }
})();
