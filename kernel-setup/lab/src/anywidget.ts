// anywidget's front-end builds, inlined by ../build.js (virtual module
// "anywidget-builds": {key: {source, version}}) and evaluated with a tiny
// AMD define() so the page needs neither requirejs nor a CDN.
import builds from "anywidget-builds";

export interface AnywidgetBuild {
  source: string;
  version: string;
}

export const ANYWIDGET_BUILDS: Record<string, AnywidgetBuild> = builds as Record<string, AnywidgetBuild>;

export function evaluateAmd(source: string, deps: Record<string, unknown>): any {
  let mod: unknown;
  const define: any = (names: string[], factory: (...a: unknown[]) => unknown) => {
    mod = factory(...names.map((n) => {
      if (!(n in deps)) throw new Error(`AMD module needs ${n}, which the page does not provide`);
      return deps[n];
    }));
  };
  define.amd = true;
  new Function("define", source)(define);
  if (!mod) throw new Error("the AMD module did not call define()");
  return mod;
}
