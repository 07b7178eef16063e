/* 本地 ECharts 的柱状图：监督问效与政策绩效评价共用。页面把数据嵌在 JSON 里；ECharts 不存在时什么也不画（表格照常显示）。 */
(function () {
  "use strict";
  window.mianshenBars = function (id, title, categories, series, yAxis) {
    var el = document.getElementById(id);
    if (!el || typeof window.echarts === "undefined") { return; }
    var many = series.length > 1;  // a legend only when there is more than one series
    window.echarts.init(el).setOption({
      animation: false,  // printed and screenshotted as drawn, not halfway through growing
      title: { text: title, textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: many ? { top: 24 } : undefined,
      grid: { top: many ? 60 : 40, left: 50, right: 10, bottom: 80 },
      xAxis: { type: "category", data: categories, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: yAxis || { type: "value" },
      series: series.map(function (s) {
        return { name: s.name, type: "bar", data: s.data, itemStyle: s.color ? { color: s.color } : undefined };
      })
    });
  };
  window.mianshenChartData = function (id) {
    var holder = document.getElementById(id);
    return holder ? JSON.parse(holder.textContent || "{}") : null;
  };
})();
