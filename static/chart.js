// Progressive enhancement of the sign-ups chart: the day under the pointer
// or the keyboard focus is written out under the chart, and the bars become
// one Tab stop moved with the arrow keys (Home and End for the ends), so a
// keyboard user need not tab through every day to get past the chart.
// Without this file every bar is a Tab stop and its SVG title and
// aria-label carry the same words.
(function () {
  for (const chart of document.querySelectorAll('[data-testid="report-chart"]')) {
    const readout = chart.querySelector('[data-chart-readout]');
    const bars = [...chart.querySelectorAll('.bar')];
    if (!readout || bars.length === 0) continue;
    const show = (event) => {
      const bar = event.target.closest('.bar');
      if (bar) readout.textContent = bar.getAttribute('aria-label');
    };
    chart.addEventListener('mouseover', show);
    chart.addEventListener('focusin', show);
    readout.textContent = 'Hover over a bar, or Tab to the chart and use the arrow keys, for that day\'s numbers.';
    let current = bars.length - 1; // the latest day first
    bars.forEach((bar, i) => bar.setAttribute('tabindex', i === current ? '0' : '-1'));
    chart.addEventListener('keydown', (event) => {
      const i = bars.indexOf(event.target);
      if (i < 0) return;
      const next = {ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: bars.length - 1}[event.key];
      if (next === undefined || next < 0 || next >= bars.length) return;
      event.preventDefault();
      bars[current].setAttribute('tabindex', '-1');
      current = next;
      bars[current].setAttribute('tabindex', '0');
      bars[current].focus();
    });
  }
})();
