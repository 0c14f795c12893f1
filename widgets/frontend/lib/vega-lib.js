// The heavy half of the LivePlot front-end: vega + vega-lite + vega-embed.
// widgets/build.js bundles this separately and embeds it in liveplot's
// module as a string, imported lazily from a Blob URL on first render: the
// _esm module itself then evaluates in milliseconds (anywidget gives a
// model's module 2 s to initialize, or it drops the model's comm messages).
export { default as embed } from "vega-embed";
export * as vega from "vega";
export { compile } from "vega-lite";
