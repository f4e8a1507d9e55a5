/* archiver demo site: cookie banner and carousel behaviour (no network access). */
(function () {
  'use strict';
  function hide(el) { if (el) { el.hidden = true; el.style.display = 'none'; } }
  document.addEventListener('click', function (ev) {
    var t = ev.target;
    if (t.matches('.cookie-accept, #cookie-consent-ok, .cookie-banner button')) {
      hide(t.closest('.cookie-banner, .cookie-consent'));
    }
    if (t.closest('.carousel-next, .elementor-swiper-button-next, .swiper-button-next')) { step(t, 1); }
    if (t.closest('.carousel-prev, .elementor-swiper-button-prev, .swiper-button-prev')) { step(t, -1); }
  });
  function step(t, by) {
    var box = t.closest('.multimedia-carousel, .swiper, .promo-slider');
    if (!box) { return; }
    var slides = box.querySelectorAll('.slide, .swiper-slide');
    var cur = Number(box.dataset.current || 0);
    cur = (cur + by + slides.length) % slides.length;
    box.dataset.current = String(cur);
    slides.forEach(function (s, i) { s.style.display = i === cur ? '' : 'none'; });
  }
}());
