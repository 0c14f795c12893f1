// Evaluates an AMD module (anywidget's dist/index.js) with a tiny define()
// shim, so pages need neither requirejs nor a CDN.
export async function loadAmd(url: string, deps: Record<string, unknown>): Promise<any> {
  const text = await (await fetch(url)).text();
  let mod: any;
  const define: any = (names: string[], factory: (...a: unknown[]) => unknown) => {
    mod = factory(...names.map((n) => deps[n]));
  };
  define.amd = true;
  new Function("define", text)(define);
  return mod;
}
