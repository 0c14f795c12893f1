export { Rng } from "./rng";
export * from "./domains";
export * from "./math";
