// Added to Doxygen's MathJax 2 configuration (MATHJAX_CODEFILE): always the TeX web fonts
// copied into the site, never fonts installed on the reader's machine (so the site looks
// the same everywhere, and the browser check proves the fonts in the site work), no image
// fonts (not shipped), and no "Typesetting math" message box.
MathJax.Hub.Config({
  messageStyle: "none",
  "HTML-CSS": { availableFonts: [], preferredFont: null, webFont: "TeX", imageFont: null }
});
