// Progressive enhancement of the sign-ups chart: the day under the pointer
// or the keyboard focus is written out under the chart. Without this file
// each bar's SVG title and aria-label still carry the same words.
(function () {
  for (const chart of document.querySelectorAll('[data-testid="report-chart"]')) {
    const readout = chart.querySelector('[data-chart-readout]');
    if (!readout) continue;
    const show = (event) => {
      const bar = event.target.closest('.bar');
      if (bar) readout.textContent = bar.getAttribute('aria-label');
    };
    chart.addEventListener('mouseover', show);
    chart.addEventListener('focusin', show);
  }
})();
