// Virtual modules and side-effect imports that build.js provides.
declare module "anywidget-builds" {
  const builds: Record<string, { source: string; version: string }>;
  export default builds;
}
declare module "*.css";
