/* 政策绩效评价图表：各环节件数与分地区的立案、拨付（charts.js 的柱状图，打印时随页面输出）。 */
(function () {
  "use strict";
  var data = window.mianshenChartData && window.mianshenChartData("performance-data");
  if (!data) { return; }
  window.mianshenBars("chart-stages", "各环节件数", data.labels, [{ name: "件数", data: data.counts, color: "#c8161d" }]);
  window.mianshenBars("chart-regions", "分地区立案与拨付", data.regions, [
    { name: "立案", data: data.opened },
    { name: "已拨付", data: data.paid }
  ]);
})();
